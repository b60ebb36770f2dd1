// What the glue reads from the Worker env, and why the engine refused it.
// No runtime imports: unit-tested in plain node.

// Relay configuration JSON for nr_edge_new / nr_relay_new: RELAY_CONFIG from
// [vars] is an object (TOML table) or, when set as a plain variable/secret,
// JSON text.
// ADMIN_PUBKEYS (secret or variable, comma-separated hex) joins it as
// "admin_pubkeys", which the core checks (naming ADMIN_PUBKEYS when refused).
export function configJson(env) {
  const cfg = env.RELAY_CONFIG;
  const admins = env.ADMIN_PUBKEYS;
  let text = cfg === undefined || cfg === null ? '{}' : typeof cfg === 'string' ? cfg : JSON.stringify(cfg);
  if (admins === undefined || admins === null || admins === '') return text;
  let obj;
  try {
    obj = JSON.parse(text);
  } catch {
    return text; // the core names the bad JSON
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return text;
  return JSON.stringify({ ...obj, admin_pubkeys: String(admins) });
}

// The METRICS_TOKEN secret that enables GET /stats, or '' (disabled). It is
// handed to the edge separately (nr_edge_set_metrics_token), never merged
// into RELAY_CONFIG, whose keys parse_config checks.
export function metricsToken(env) {
  const t = env.METRICS_TOKEN;
  return typeof t === 'string' ? t : '';
}

// Returns why the core refuses `json` as relay configuration (text naming the
// key, from nr_config_error in core/abi/core_abi.h), or '' if it is valid.
// `wasm`: a WasmInstance (js-glue/wasm_instance.js).
export function configError(wasm, json) {
  return wasm.withInput(json, (p, n) => {
    let cap = 256;
    for (;;) {
      const out = wasm.alloc(cap);
      let len;
      try {
        len = wasm.u32('nr_config_error', p, n, out, cap);
        if (len <= cap) return len === 0 ? '' : wasm.readText(out, len);
      } finally {
        wasm.release(out);
      }
      cap = len; // cut: once more with room for all of it
    }
  });
}

// The message to log and answer when engine creation returned 0.
export function configFailure(what, wasm, json) {
  const why = configError(wasm, json);
  return why ? `${what} rejected RELAY_CONFIG: ${why}` : `${what} failed (out of memory?) with a valid RELAY_CONFIG`;
}
