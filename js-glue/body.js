// Reading a request body with a cap (NIP-86 calls): no runtime imports.

// The engine refuses bodies over 16 KiB (core/management.h kMaxAdminBody):
// reading one byte more is enough for it to say so.
export const ADMIN_BODY_CAP = 16 * 1024 + 1;
// HTTP API bodies (an event, or filters) are capped by the engine at its
// limits.max_message_length; read up to the largest that setting allows here.
export const API_BODY_CAP = 1024 * 1024 + 1;

// The request body as text, at most `cap` bytes of it (a larger body is cut:
// the engine then refuses it by its size).
export async function readCapped(request, cap) {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  while (size < cap) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  reader.cancel().catch(() => {});
  const all = new Uint8Array(Math.min(size, cap));
  let off = 0;
  for (const c of chunks) {
    const part = c.subarray(0, Math.min(c.byteLength, all.length - off));
    all.set(part, off);
    off += part.byteLength;
    if (off >= all.length) break;
  }
  return new TextDecoder().decode(all);
}

