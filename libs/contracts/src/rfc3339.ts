// RFC 3339 timestamps in UTC ("Z" only). Offsets are refused so that equal instants have one
// spelling: events are hashed byte for byte, and grants compare `exp` as text after signing.

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

export function isRfc3339Utc(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = RFC3339_UTC.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day >= 1 && day <= daysInMonth;
}

/** Milliseconds since the epoch for a valid RFC 3339 UTC timestamp; throws otherwise. */
export function parseRfc3339Utc(value: string): number {
  if (!isRfc3339Utc(value)) throw new TypeError(`not an RFC 3339 UTC timestamp: ${JSON.stringify(value)}`);
  return Date.parse(value);
}

/** `new Date().toISOString()` — millisecond precision, always `Z`. */
export function rfc3339Now(now: Date = new Date()): string {
  return now.toISOString();
}
