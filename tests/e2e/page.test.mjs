// End to end over HTTP: the relay page in headless Chromium, GET /health,
// GET /metrics and NIP-86 routing, on HOST (harness.mjs): `wrangler dev`
// (workerd, local D1) or the native server.
//   node --test tests/e2e/page.test.mjs     (part of npm run test:e2e)
// Needs build/wasm-wasi/nostr_relay.wasm, and Debian's `chromium` for the page
// (scripts/setup installs it; without it the page tests are skipped LOUDLY).
// The screenshot goes to test-artifacts/relay-page.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { DatabaseSync } from 'node:sqlite';
import { HOST, ROOT, RawClient, applyMigrations, offlineEnv, onlyOn, startNative, startRelay } from './harness.mjs';

const TOKEN = 'page-test-metrics-token';
const CONFIG_NAME = 'configured name';
const MANAGED_NAME = 'Page Test Relay';
// Management-controlled text that tries to run script in the page; escaped,
// it is shown as text and document.title stays the relay's name.
const HOSTILE = `<script>document.title='pwned-1'</script><img src=x onerror="document.title='pwned-2'"> & more`;
// The icon as an inline SVG: the page itself loads nothing from elsewhere.
const ICON = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#6b3fd4"/>'
  + '<circle cx="32" cy="32" r="14" fill="#fff"/></svg>').toString('base64')}`;
const ARTIFACTS = join(ROOT, 'test-artifacts');
const SCREENSHOT = join(ARTIFACTS, 'relay-page.png');

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;

// Runs SQL on the local D1 in `state` (wrangler d1 execute, offline).
function d1(state, sql) {
  const r = spawnSync(join(ROOT, 'node_modules/.bin/wrangler'), ['d1', 'execute', 'DB', '--local', '--persist-to', state, '--command', sql], {
    cwd: ROOT, env: offlineEnv(), encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`d1 execute failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

const settingSql = (key, value) => `INSERT INTO mgmt_settings (key, value) VALUES (${sqlString(key)}, ${sqlString(value)}) `
  + 'ON CONFLICT (key) DO UPDATE SET value = excluded.value';
function setting(state, key, value) {
  d1(state, settingSql(key, value));
}

// Debian's chromium (scripts/setup), or null.
function findChromium() {
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}
const CHROMIUM = findChromium();
if (!CHROMIUM) {
  const bar = '!'.repeat(78);
  console.log(`\n${bar}\n!! chromium NOT FOUND: the relay page tests in headless Chromium are SKIPPED.\n`
    + `!! Install it with scripts/setup (Debian package "chromium").\n${bar}\n`);
}

// Runs headless Chromium on `url` with `args`; returns stdout. Its profile
// lives in a temporary directory, removed afterwards.
function chromium(url, args) {
  const profile = mkdtempSync(join(tmpdir(), 'relay-page-chromium-'));
  try {
    const r = spawnSync(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions',
      '--disable-background-networking', '--disable-sync', '--disable-component-update', '--metrics-recording-only',
      `--user-data-dir=${profile}`, '--virtual-time-budget=8000', ...args, url,
    ], { encoding: 'utf8', timeout: 120000, maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`chromium exited ${r.status ?? r.signal}:\n${r.stderr.slice(-4000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

let relay;
let state;
let client;
before(async () => {
  // Management overrides as the NIP-86 API writes them, before the relay
  // starts; RELAY_CONFIG without relay_url, so the page derives ws://host:port.
  state = mkdtempSync(join(tmpdir(), 'nostr-relay-page-'));
  const settings = [['name', MANAGED_NAME], ['description', HOSTILE], ['icon', ICON]];
  const config = JSON.stringify({ name: CONFIG_NAME, description: 'configured description', relay_url: '' });
  if (HOST === 'native') {
    // The native server's database file, prepared like the D1 above.
    const db = join(state, 'relay.sqlite3');
    const sql = new DatabaseSync(db);
    sql.exec(readFileSync(join(ROOT, 'schema.sql'), 'utf8'));
    for (const [k, v] of settings) sql.exec(settingSql(k, v));
    sql.close();
    relay = await startNative({ db, env: { METRICS_TOKEN: TOKEN, RELAY_CONFIG: config } });
  } else {
    applyMigrations(state);
    for (const [k, v] of settings) setting(state, k, v);
    relay = await startRelay({
      persistTo: state, migrate: false, extraArgs: ['--var', `METRICS_TOKEN:${TOKEN}`, '--var', `RELAY_CONFIG:${config}`],
    });
  }
  // Something for the counters: one socket, one subscription, one event.
  client = await RawClient.connect(relay.wsUrl);
  await client.query('page-sub', { kinds: [1], limit: 1 });
  client.send(['REQ', 'page-live', { kinds: [1] }]);
  await client.next((m) => m?.[0] === 'EOSE' && m[1] === 'page-live');
  const ev = finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content: 'page test' }, generateSecretKey());
  const ok = await client.publish(ev);
  assert.equal(ok[2], true, JSON.stringify(ok));
});
after(async () => {
  await client?.close();
  await relay?.stop();
  rmSync(state, { recursive: true, force: true });
});

// The DO side of /health and /metrics (RelayDurableObject.health()/metrics())
// may not exist yet on this branch: the RPC then fails with this message.
const NOT_IMPLEMENTED = /does not implement|is not a function|no such method/i;

describe('GET /health', () => {
  test('200 with the relay object\'s report, or 503 with a reason', async (t) => {
    const res = await fetch(`${relay.url}/health`);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.json();
    if (res.status === 503 && NOT_IMPLEMENTED.test(body.error ?? '')) {
      // TODO(issue 8): remove once RelayDurableObject.health() lands.
      t.skip(`TODO: RelayDurableObject.health() is not implemented yet (${body.error})`);
      assert.equal(body.ok, false);
      return;
    }
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.ok, true);
    assert.equal(body.d1, true);
    for (const k of ['connections', 'subscriptions', 'events_accepted']) assert.ok(Number.isInteger(body[k]), `${k}: ${JSON.stringify(body)}`);
    assert.ok(body.connections >= 1);
    assert.ok(body.subscriptions >= 1);
    assert.ok(body.events_accepted >= 1);
  });

  test('needs no token; only GET and HEAD', async () => {
    const head = await fetch(`${relay.url}/health`, { method: 'HEAD' });
    assert.ok([200, 503].includes(head.status));
    const post = await fetch(`${relay.url}/health`, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });
});

describe('GET /metrics', () => {
  test('401 with WWW-Authenticate without the right bearer token', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: `Basic ${TOKEN}` }]) {
      const res = await fetch(`${relay.url}/metrics`, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.ok(!(await res.text()).includes(TOKEN));
    }
  });

  test('Prometheus text with the token', async (t) => {
    const res = await fetch(`${relay.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const body = await res.text();
    if (res.status === 500 && NOT_IMPLEMENTED.test(body)) {
      // TODO(issue 8): remove once RelayDurableObject.metrics() lands.
      t.skip(`TODO: RelayDurableObject.metrics() is not implemented yet (${body.trim()})`);
      return;
    }
    assert.equal(res.status, 200, body);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4');
    assert.match(body, /^# (HELP|TYPE) /m);
  });
  // 404 without METRICS_TOKEN: tests/edge/test_http.cpp (this relay has one).
});

describe('NIP-86 routing', () => {
  test('POST / with application/nostr+json+rpc reaches the relay object; other POSTs are 405', async () => {
    const rpc = await fetch(relay.url, {
      method: 'POST', headers: { 'Content-Type': 'application/nostr+json+rpc' }, body: '{"method":"supportedmethods","params":[]}',
    });
    await rpc.arrayBuffer();
    assert.notEqual(rpc.status, 405, 'the Worker did not forward the NIP-86 call');
    for (const type of ['application/nostr+json', 'application/json']) {
      const res = await fetch(relay.url, { method: 'POST', headers: { 'Content-Type': type }, body: '{}' });
      assert.equal(res.status, 405, type);
      assert.match(await res.text(), /application\/nostr\+json\+rpc/);
    }
  });

  test('the CORS preflight allows the POST', async () => {
    const res = await fetch(relay.url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://admin.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' },
    });
    assert.equal(res.status, 204);
    assert.match(res.headers.get('access-control-allow-methods'), /POST/);
    assert.match(res.headers.get('access-control-allow-headers'), /Content-Type/);
    assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
  });
});

describe('management overrides', () => {
  test('NIP-11 shows the overridden name, description and icon', async () => {
    const info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
    assert.equal(info.name, MANAGED_NAME);
    assert.equal(info.description, HOSTILE);
    assert.equal(info.icon, ICON);
  });

  // Returns how long NIP-11 took to show `name` (ms), or fails after 15 s.
  async function nameShows(name) {
    const start = Date.now();
    for (;;) {
      const info = await (await fetch(relay.url, { headers: { Accept: 'application/nostr+json' } })).json();
      if (info.name === name) return Date.now() - start;
      assert.ok(Date.now() - start < 15000, `NIP-11 still says ${info.name}, not ${name}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  test('a change reaches NIP-11 within seconds (the Worker caches them 5 s)', onlyOn('wrangler',
    'the native server shows the management state its engine holds, changed through NIP-86 (operator.test.mjs), not edits of the database file'), async () => {
    setting(relay.state, 'name', 'Renamed Relay');
    assert.ok(await nameShows('Renamed Relay') < 10000);
    setting(relay.state, 'name', MANAGED_NAME);
    await nameShows(MANAGED_NAME);
  });
});

describe('the relay page', { skip: CHROMIUM ? false : 'chromium not installed (scripts/setup installs it)' }, () => {
  test('GET / with Accept: text/html is the HTML page, with a CSP', async () => {
    const res = await fetch(relay.url, { headers: { Accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(res.headers.get('content-security-policy'), /^default-src 'none'; script-src 'sha256-/);
    const html = await res.text();
    assert.ok(!html.includes("<script>document.title='pwned-1'"), 'hostile description must be escaped');
    assert.ok(!/<script[^>]+src=|<link /.test(html), 'no external script or stylesheet');
  });

  test('renders in headless Chromium: texts, URL, copy button, NIPs, limits, live counters', async (t) => {
    const dom = chromium(relay.url, ['--dump-dom']);
    assert.match(dom, new RegExp(`<title>${MANAGED_NAME}</title>`), 'the script must not have changed the title');
    assert.ok(dom.includes(`<h1 id="name">${MANAGED_NAME}</h1>`), dom.slice(0, 3000));
    assert.ok(!dom.includes(CONFIG_NAME));
    // The hostile description is shown as text.
    assert.ok(dom.includes('&lt;script&gt;document.title=\'pwned-1\'&lt;/script&gt;&lt;img src=x onerror="document.title=\'pwned-2\'"&gt; &amp; more'), dom);
    assert.ok(!/<img[^>]+src="x"/.test(dom));
    assert.ok(dom.includes(`<img id="icon" src="${ICON}"`));
    // No relay_url configured: derived from the request.
    assert.ok(dom.includes(`<code id="relay-url">ws://127.0.0.1:${relay.port}</code>`), dom);
    assert.match(dom, /<button id="copy" type="button">Copy<\/button>/);
    // Filled in by the page's script (so the CSP hash lets it run).
    for (const nip of ['NIP-01', 'NIP-11', 'NIP-42']) assert.ok(dom.includes(`>${nip}</a>`), nip);
    assert.match(dom, /<th>max subscriptions<\/th><td>100<\/td>/);
    assert.match(dom, /<th>auth required<\/th><td>no<\/td>/);
    // Live counters from GET /health.
    const health = await (await fetch(`${relay.url}/health`)).json();
    if (!health.ok && NOT_IMPLEMENTED.test(health.error ?? '')) {
      // TODO(issue 8): remove once RelayDurableObject.health() lands.
      assert.match(dom, /<section id="live" data-state="error">/);
      t.skip(`TODO: counters not checked, RelayDurableObject.health() is not implemented yet (${health.error})`);
      return;
    }
    assert.match(dom, /<section id="live" data-state="ok">/);
    assert.match(dom, /<span id="status">online<\/span>/);
    for (const id of ['connections', 'subscriptions', 'events_accepted']) {
      const m = dom.match(new RegExp(`<dd id="${id}">([0-9,]+)</dd>`));
      assert.ok(m, `${id} counter not filled: ${dom.match(new RegExp(`<dd id="${id}">[^<]*</dd>`))}`);
      assert.ok(Number(m[1].replaceAll(',', '')) >= 1, `${id} = ${m[1]}`);
    }
  });

  test('screenshot saved as test-artifacts/relay-page.png', () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    rmSync(SCREENSHOT, { force: true });
    chromium(relay.url, [`--screenshot=${SCREENSHOT}`, '--window-size=1200,900', '--hide-scrollbars']);
    assert.ok(existsSync(SCREENSHOT), 'no screenshot written');
    const png = readFileSync(SCREENSHOT);
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
    assert.ok(statSync(SCREENSHOT).size > 10000, 'screenshot suspiciously small');
    console.log(`relay page screenshot: ${SCREENSHOT}`);
  });
});
