// CPU profile of the Worker/DO isolate through wrangler dev's inspector (CDP),
// summarised as self time per function, to see where the relay's time goes.
//   const p = await Profiler.attach(inspectorPort); await p.start(); ...; const top = await p.stop();
export class Profiler {
  static async attach(port) {
    let targets = [];
    for (let i = 0; i < 50 && !targets.length; i++) {
      try {
        targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const t = targets.find((x) => x.webSocketDebuggerUrl);
    if (!t) throw new Error(`no inspector target on port ${port}`);
    const ws = new WebSocket(t.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', () => reject(new Error('inspector connect failed')), { once: true });
    });
    return new Profiler(ws, t);
  }

  constructor(ws, target) {
    this.ws = ws;
    this.target = target;
    this.nextId = 1;
    this.pending = new Map();
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(ev.data);
      const p = m.id && this.pending.get(m.id);
      if (p) {
        this.pending.delete(m.id);
        if (m.error) p.reject(new Error(JSON.stringify(m.error)));
        else p.resolve(m.result);
      }
    });
  }

  call(method, params = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(intervalUs = 200) {
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.call('Profiler.start');
  }

  // Stops and returns [{ name, selfMs, pct }] by self time, plus category totals.
  async stop(top = 15) {
    const { profile } = await this.call('Profiler.stop');
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map();
    const dt = profile.timeDeltas;
    for (let i = 0; i < profile.samples.length; i++) {
      const n = byId.get(profile.samples[i]);
      const cf = n.callFrame;
      const file = (cf.url || '').split('/').pop();
      const key = cf.functionName ? `${cf.functionName} ${file}${file ? `:${cf.lineNumber + 1}` : ''}` : `(anonymous) ${file}:${cf.lineNumber + 1}`;
      const name = ['(program)', '(idle)', '(garbage collector)', '(root)'].includes(cf.functionName) ? cf.functionName : key;
      self.set(name, (self.get(name) ?? 0) + (dt[i + 1] ?? 0) / 1000);
    }
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    const busy = total - (self.get('(idle)') ?? 0);
    const cat = { wasm: 0, glue: 0, gc: 0, program: 0, other: 0 };
    for (const [k, v] of self) {
      if (k === '(idle)') continue;
      if (/wasm|^\$|wasm-function/.test(k)) cat.wasm += v;
      else if (/js-glue|worker\.js|relay_do\.js|codec\.js|wasm\.js/.test(k)) cat.glue += v;
      else if (k === '(garbage collector)') cat.gc += v;
      else if (k === '(program)') cat.program += v;
      else cat.other += v;
    }
    const rows = [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, ms]) => ({ name, selfMs: ms, pct: (100 * ms) / busy }));
    return { totalMs: total, busyMs: busy, categories: Object.fromEntries(Object.entries(cat).map(([k, v]) => [k, { ms: v, pct: (100 * v) / busy }])), top: rows };
  }

  close() {
    this.ws.close();
  }
}
