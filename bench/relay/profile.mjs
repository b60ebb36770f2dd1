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
    // The inspector proxy wants a local Origin (undici sends a user-agent, no Origin).
    const ws = new WebSocket(t.webSocketDebuggerUrl, { headers: { Origin: 'http://127.0.0.1' } });
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

  // Stops and returns [{ name, selfMs, pct }] by self time, plus category totals;
  // paths: the heaviest call stacks (self time) whose leaf matches pathsOf.
  async stop(top = 15, pathsOf = null) {
    const { profile } = await this.call('Profiler.stop');
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map();
    const wasmNames = new Set();
    const dt = profile.timeDeltas;
    for (let i = 0; i < profile.samples.length; i++) {
      const n = byId.get(profile.samples[i]);
      const cf = n.callFrame;
      const file = (cf.url || '').split('/').pop();
      const key = cf.functionName ? `${cf.functionName} ${file}${file ? `:${cf.lineNumber + 1}` : ''}` : `(anonymous) ${file}:${cf.lineNumber + 1}`;
      const name = ['(program)', '(idle)', '(garbage collector)', '(root)'].includes(cf.functionName) ? cf.functionName : key;
      if (/^[0-9a-f]{8}$/.test(file) || /^wasm-function\[/.test(cf.functionName)) wasmNames.add(name);
      self.set(name, (self.get(name) ?? 0) + (dt[i + 1] ?? 0) / 1000);
    }
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    const busy = total - (self.get("(idle)") ?? 0);
    const cat = { wasm: 0, glue: 0, gc: 0, program: 0, other: 0 };
    for (const [k, v] of self) {
      if (k === '(idle)') continue;
      if (wasmNames.has(k) || /^js-to-wasm|^wasm-to-js/.test(k)) cat.wasm += v;
      else if (/js-glue|worker\.js|relay_do\.js|codec\.js|wasm\.js/.test(k)) cat.glue += v;
      else if (k === '(garbage collector)') cat.gc += v;
      else if (k === '(program)') cat.program += v;
      else cat.other += v;
    }
    const rows = [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, ms]) => ({ name, selfMs: ms, pct: (100 * ms) / busy }));
    let paths;
    if (pathsOf) {
      const byStack = new Map();
      for (let i = 0; i < profile.samples.length; i++) {
        let id = profile.samples[i];
        if (!pathsOf.test(byId.get(id).callFrame.functionName)) continue;
        const names = [];
        while (id !== undefined) {
          const f = byId.get(id).callFrame.functionName || '(anon)';
          names.push(f.replace(/\(.*$/, '').slice(0, 60));
          id = parent.get(id);
        }
        const key = names.reverse().join(' > ');
        byStack.set(key, (byStack.get(key) ?? 0) + (dt[i + 1] ?? 0) / 1000);
      }
      paths = [...byStack].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([stack, ms]) => ({ ms, stack }));
    }
    return { paths, totalMs: total, busyMs: busy, categories: Object.fromEntries(Object.entries(cat).map(([k, v]) => [k, { ms: v, pct: (100 * v) / busy }])), top: rows };
  }

  close() {
    this.ws.close();
  }
}

// Call counts of the isolate's JS functions (precise coverage) between start and stop.
export async function callCounts(profiler, fn) {
  await profiler.call('Profiler.enable');
  await profiler.call('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  await profiler.call('Profiler.takePreciseCoverage'); // reset
  await fn();
  const { result } = await profiler.call('Profiler.takePreciseCoverage');
  await profiler.call('Profiler.stopPreciseCoverage');
  const out = {};
  for (const s of result) {
    const file = s.url.split('/').pop();
    for (const f of s.functions) {
      const n = f.ranges[0]?.count ?? 0;
      if (n > 0 && f.functionName) out[`${f.functionName} ${file}`] = n;
    }
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}
