import { isUuidV7, uuidv7, uuidv7Timestamp } from './ids';
import { isRfc3339Utc, parseRfc3339Utc } from './rfc3339';

describe('uuidv7', () => {
  it('produces RFC 9562 version 7 ids carrying the time', () => {
    const now = Date.UTC(2024, 6, 15, 10, 30);
    const id = uuidv7(now + 10_000); // later than any id made so far in this process
    expect(isUuidV7(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(uuidv7Timestamp(id)).toBe(now + 10_000);
  });

  it('is strictly increasing within one millisecond and across a clock step back', () => {
    const t = Date.now() + 60_000;
    const ids = [...Array.from({ length: 5000 }, () => uuidv7(t)), uuidv7(t - 5000)];
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('recognises only canonical v7 ids', () => {
    expect(isUuidV7('0190b0a2-6b3c-7d41-8a1e-3f2b5c6d7e80')).toBe(true);
    expect(isUuidV7('0190b0a2-6b3c-4d41-8a1e-3f2b5c6d7e80')).toBe(false); // v4
    expect(isUuidV7('0190b0a2-6b3c-7d41-ca1e-3f2b5c6d7e80')).toBe(false); // wrong variant
    expect(isUuidV7('0190B0A2-6B3C-7D41-8A1E-3F2B5C6D7E80')).toBe(false); // upper case
    expect(isUuidV7(42)).toBe(false);
  });
});

describe('rfc3339', () => {
  it('accepts UTC timestamps only, with real dates', () => {
    expect(isRfc3339Utc('2024-02-29T23:59:59.123Z')).toBe(true);
    expect(isRfc3339Utc('2024-07-15T10:30:00Z')).toBe(true);
    expect(isRfc3339Utc('2023-02-29T00:00:00Z')).toBe(false);
    expect(isRfc3339Utc('2024-07-15T10:30:00+00:00')).toBe(false);
    expect(isRfc3339Utc('2024-07-15 10:30:00Z')).toBe(false);
    expect(isRfc3339Utc('2024-07-15T24:00:00Z')).toBe(false);
    expect(parseRfc3339Utc('1970-01-01T00:00:01Z')).toBe(1000);
    expect(() => parseRfc3339Utc('yesterday')).toThrow(TypeError);
  });
});
