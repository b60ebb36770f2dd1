// Structured log lines for the glue's own errors: one JSON object per line,
// like the engine's Log actions, so Workers Logs / `wrangler tail` can filter
// them. No runtime imports.

// Logs {"level":"error","msg":msg,"error":..,"stack":..,...fields}.
export function logError(msg, err, fields = {}) {
  const line = { level: 'error', msg, ...fields };
  if (err !== undefined) {
    line.error = String(err?.message ?? err);
    if (err?.stack) line.stack = String(err.stack);
  }
  console.error(JSON.stringify(line));
}
