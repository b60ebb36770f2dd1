// The management overrides of the relay's name, description and icon (D1
// table mgmt_settings, written through the NIP-86 API), as the edge handler
// takes them (edge_abi.h "overrides"). Read at most every 5 seconds per
// isolate, so a change shows within seconds and a page view costs no query.
// No runtime imports: unit-tested in plain node.

import { logError } from './log.js';

export const OVERRIDES_TTL_MS = 5000;
export const OVERRIDES_SQL = "SELECT key, value FROM mgmt_settings WHERE key IN ('name', 'description', 'icon')";

let cache = null; // { db, at, value: Promise<object> }: one query shared by concurrent requests
let failing = false; // a failure was logged and nothing has succeeded since

async function load(db) {
  try {
    const { results } = await db.prepare(OVERRIDES_SQL).all();
    const overrides = {};
    for (const { key, value } of results ?? []) {
      if (typeof value === 'string') overrides[key] = value;
    }
    failing = false;
    return overrides;
  } catch (err) {
    // Without the table (migrations not applied) or D1 down, the configured
    // texts are still right: log once, answer from RELAY_CONFIG.
    if (!failing) logError("mgmt_settings unreadable, using RELAY_CONFIG's name/description/icon", err);
    failing = true;
    return {};
  }
}

// Returns { name?, description?, icon? } from `db` (a D1 binding), cached for
// OVERRIDES_TTL_MS (`now` in ms); {} if the query fails (also cached, so a
// failing D1 is asked at most every few seconds). Never throws.
export function relayOverrides(db, now = Date.now()) {
  if (!cache || cache.db !== db || now - cache.at >= OVERRIDES_TTL_MS || now < cache.at) {
    cache = { db, at: now, value: load(db) };
  }
  return cache.value;
}

// Forgets the cached overrides (tests).
export function resetOverridesCache() {
  cache = null;
  failing = false;
}
