// Values, signing payloads and limits of tinychat protocol v1 (libtinychat/PROTOCOL.md).
// Pure functions only: no DOM, no network, so they can be checked against the test vectors.

const encoder = new TextEncoder();

export const ROOM_ID = /^[a-z2-7]{26}$/;

export function isRoomId(value) {
  return typeof value === 'string' && ROOM_ID.test(value);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex) {
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex)) throw new Error('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// Limits count Unicode code points, not UTF-16 units: "🚀" is one.
export function codePointCount(text) {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

// The name as the server trims it (only spaces and tabs), which is also what is signed.
export function trimName(name) {
  return name.replace(/^[ \t]+|[ \t]+$/g, '');
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// str(b): 4-byte big-endian length, then the bytes; strings as UTF-8.
function str(value) {
  const bytes = typeof value === 'string' ? encoder.encode(value) : value;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function u64(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export function joinPayload({ challenge, roomId, userName, pubKey }) {
  return concat([
    str('tinychat/v1/join'),
    str(fromHex(challenge)),
    str(roomId),
    str(userName),
    str(fromHex(pubKey)),
  ]);
}

export function messagePayload({ roomId, userId, clientSeq, text }) {
  return concat([str('tinychat/v1/msg'), str(roomId), str(userId), u64(clientSeq), str(text)]);
}

// Short enough to compare at a glance, long enough that two members rarely share one.
export function fingerprint(pubKey) {
  return `${pubKey.slice(0, 4)} ${pubKey.slice(4, 8)} ${pubKey.slice(8, 12)}`;
}
