// The byte-exact JSON that PHP's json_encode() produces, and the signing primitives of Nextcloud Talk.
// Nextcloud signs webhook bodies as sent, so a receiver must verify the raw bytes: PHP escapes "/" as
// "\/" and every non-ASCII UTF-16 unit as a lowercase \uXXXX (astral characters as a surrogate pair).
import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';

export interface PhpJsonOptions {
  /** JSON_HEX_TAG: "<" and ">" as \u003C and \u003E (Nextcloud's OCS responses use it). */
  hexTag?: boolean;
  /** JSON_UNESCAPED_SLASHES */
  unescapedSlashes?: boolean;
  /** JSON_UNESCAPED_UNICODE */
  unescapedUnicode?: boolean;
}

/**
 * json_encode($value) with PHP's default flags. JS arrays encode as PHP lists, objects as PHP
 * associative arrays (an empty object as {} — pass [] where PHP would hold an empty array).
 * Control characters and quotes/backslashes are escaped exactly like JSON.stringify does, which
 * matches PHP (\b \f \n \r \t and lowercase \u00XX).
 */
export function phpJsonEncode(value: unknown, options: PhpJsonOptions = {}): string {
  let out = JSON.stringify(value);
  if (out === undefined) throw new TypeError('phpJsonEncode: value is not JSON-serialisable');
  // "/" only ever appears inside JSON strings, so a global replace is safe.
  if (!options.unescapedSlashes) out = out.replace(/\//g, '\\/');
  if (!options.unescapedUnicode) {
    out = out.replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  }
  if (options.hexTag) out = out.replace(/</g, '\\u003C').replace(/>/g, '\\u003E');
  return out;
}

export function hmacSha256Hex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data, 'utf8').digest('hex');
}

export function sha1Hex(data: string): string {
  return createHash('sha1').update(data, 'utf8').digest('hex');
}

/** hash_equals($expected, strtolower($given)) in constant time. */
export function signatureMatches(expectedHex: string, givenHex: string): boolean {
  const a = Buffer.from(expectedHex, 'utf8');
  const b = Buffer.from(givenHex.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const TALK_RANDOM_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';

/** ISecureRandom::generate(64): 64 characters of [A-Za-z0-9+/], as Talk puts in X-Nextcloud-Talk-Random. */
export function talkRandom(length = 64): string {
  let s = '';
  for (let i = 0; i < length; i++) s += TALK_RANDOM_ALPHABET[randomInt(TALK_RANDOM_ALPHABET.length)];
  return s;
}

let crcTable: Uint32Array | undefined;

/**
 * PHP's hash('crc32', $s): the BZIP2 CRC (MSB-first polynomial 0x04C11DB7), printed in little-endian
 * byte order. The Passwords app uses it as the `id` of its API errors. hash('crc32','123456789') is
 * '181989fc'.
 */
export function phpCrc32(text: string): string {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i << 24;
      for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
      crcTable[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8'))
    crc = ((crc << 8) ^ crcTable[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  crc = (crc ^ 0xffffffff) >>> 0;
  const be = crc.toString(16).padStart(8, '0');
  return be.slice(6, 8) + be.slice(4, 6) + be.slice(2, 4) + be.slice(0, 2);
}
