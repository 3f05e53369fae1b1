// UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, version 7, then random bits. Time-ordered ids
// keep JetStream subjects and PostgreSQL indexes roughly in creation order.
import { randomBytes } from 'node:crypto';

const UUID_V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// rand_a (12 bits) doubles as a counter within one millisecond (RFC 9562 §6.2, method 1), so ids
// made by this process are strictly increasing. It is re-seeded randomly with its top bit clear
// each millisecond, leaving at least 2048 increments before it overflows into the next ms.
let lastMs = -1;
let counter = 0;

function seedCounter(): number {
  return randomBytes(2).readUInt16BE(0) & 0x7ff;
}

/** A new lower-case UUIDv7, monotonic within this process. */
export function uuidv7(now: number = Date.now()): string {
  let ms = Math.floor(now);
  if (ms > lastMs) {
    lastMs = ms;
    counter = seedCounter();
  } else {
    // Same millisecond, or the clock stepped back: keep counting from the last id.
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      ms = lastMs;
      counter = seedCounter();
    }
  }

  const bytes = randomBytes(16);
  // 48-bit big-endian timestamp (split because bit operators are 32-bit).
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);

  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** True for a canonical (lower-case, hyphenated) RFC 9562 version 7 UUID. */
export function isUuidV7(value: unknown): value is string {
  return typeof value === 'string' && UUID_V7_PATTERN.test(value);
}

/** The Unix millisecond timestamp embedded in a UUIDv7. */
export function uuidv7Timestamp(id: string): number {
  if (!isUuidV7(id)) throw new TypeError(`not a UUIDv7: ${JSON.stringify(id)}`);
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
