// Secret redaction for text that leaves the trust boundary (audit feed, logs, approval prompts).
// Two sources: detector hits (secret-detectors.ts) and known secrets — values the caller holds,
// e.g. what the credential broker released — matched raw and in the encodings a command or its
// output commonly carries them: base64 (std and url-safe, at any byte alignment), hex, URL and
// JSON escaping.
import { createHash } from 'node:crypto';
import { isPlaceholderValue, isSecretFieldName, SECRET_DETECTORS } from './secret-detectors';

/** Known secrets shorter than this are not matched raw: they would shred ordinary text. */
export const MIN_KNOWN_SECRET_LENGTH = 4;
/** Encoded fragments shorter than this are not matched, for the same reason. */
export const MIN_ENCODED_FRAGMENT_LENGTH = 8;

export interface SecretFinding {
  /** Detector kind, or `known_secret`. */
  kind: string;
  start: number;
  end: number;
  value: string;
}

export type SecretReplacer = (finding: SecretFinding) => string;

/** Default replacement: `[REDACTED:<kind>]`. */
export const markerReplacement: SecretReplacer = (f) => `[REDACTED:${f.kind}]`;

/**
 * Replacement by digest, `[REDACTED:<kind>:sha256:<first 16 hex>]`: a reader can tell two
 * redactions of the same value apart from different ones without learning the value.
 * A low-entropy value (a weak password) can still be guessed offline from its digest.
 */
export const digestReplacement: SecretReplacer = (f) =>
  `[REDACTED:${f.kind}:sha256:${createHash('sha256').update(f.value, 'utf8').digest('hex').slice(0, 16)}]`;

/** Every detector hit in `text`, sorted by position (hits may overlap). */
export function detectSecrets(text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const detector of SECRET_DETECTORS) {
    detector.pattern.lastIndex = 0;
    for (const match of text.matchAll(detector.pattern)) {
      const group = detector.groups.find((g) => match[g] !== undefined);
      if (group === undefined) continue;
      const [start, end] = match.indices![group]!;
      const value = match[group]!;
      if (end <= start || (group !== 0 && isPlaceholderValue(value))) continue;
      findings.push({ kind: detector.kind, start, end, value });
    }
  }
  return findings.sort((a, b) => a.start - b.start || b.end - a.end);
}

/** True if any detector fires on `text`. */
export function containsSecret(text: string): boolean {
  return detectSecrets(text).length > 0;
}

/**
 * Base64 substrings that appear whenever `bytes` is embedded in a larger base64 stream at byte
 * offset ≡ k (mod 3), k = 0, 1, 2: the characters whose six bits come only from `bytes`.
 */
function base64Fragments(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k += 1) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const first = k === 0 ? 0 : k + 1; // chars 0..k hold prefix bits
    const last = Math.floor((8 * (k + bytes.length)) / 6); // chars before this hold no suffix bits
    out.push(encoded.slice(first, last));
  }
  const full = bytes.toString('base64');
  out.push(full); // aligned and complete, with its padding
  return out;
}

/** The forms of `secret` that redactSecrets() looks for (raw first). */
export function knownSecretVariants(secret: string): string[] {
  if (secret.length < MIN_KNOWN_SECRET_LENGTH) return [];
  const bytes = Buffer.from(secret, 'utf8');
  const encoded = [
    ...base64Fragments(bytes).flatMap((b64) => [
      b64,
      b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
    ]),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
  ].filter((v) => v.length >= MIN_ENCODED_FRAGMENT_LENGTH && v !== secret);
  return [secret, ...new Set(encoded)];
}

/** Every occurrence of a known secret (in any variant) in `text`. */
export function findKnownSecrets(text: string, knownSecrets: readonly string[]): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const secret of knownSecrets) {
    for (const variant of knownSecretVariants(secret)) {
      for (let at = text.indexOf(variant); at !== -1; at = text.indexOf(variant, at + 1)) {
        // `value` is the secret itself, so digests of its encoded forms match the raw one.
        findings.push({ kind: 'known_secret', start: at, end: at + variant.length, value: secret });
      }
    }
  }
  return findings;
}

/** Overlapping findings become one (the earliest finding's kind; the covered text as value). */
function mergeFindings(text: string, findings: SecretFinding[]): SecretFinding[] {
  const sorted = [...findings].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: SecretFinding[] = [];
  for (const f of sorted) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) {
      if (f.end > last.end) {
        last.end = f.end;
        last.value = text.slice(last.start, last.end);
      }
      continue;
    }
    merged.push({ ...f });
  }
  return merged;
}

export interface RedactOptions {
  /** How each hit is replaced; default `[REDACTED:<kind>]`. */
  replace?: SecretReplacer;
}

/**
 * `text` with every known secret (raw, base64 at any alignment, hex lower/upper, URL- and
 * JSON-escaped) and every detector hit replaced.
 */
export function redactSecrets(
  text: string,
  knownSecrets: readonly string[] = [],
  options: RedactOptions = {},
): string {
  const replace = options.replace ?? markerReplacement;
  const findings = mergeFindings(text, [...findKnownSecrets(text, knownSecrets), ...detectSecrets(text)]);
  if (findings.length === 0) return text;
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += text.slice(at, f.start) + replace(f);
    at = f.end;
  }
  return out + text.slice(at);
}

/**
 * Deep copy of a JSON value with every string redacted; a string under a key that names a secret
 * (`password`, `API_TOKEN`, …) is replaced whole. Object keys themselves are kept.
 */
export function redactSecretsDeep<T>(
  value: T,
  knownSecrets: readonly string[] = [],
  options: RedactOptions = {},
): T {
  const replace = options.replace ?? markerReplacement;
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (typeof v === 'string') {
      if (key !== undefined && isSecretFieldName(key) && v.length > 0 && !isPlaceholderValue(v)) {
        return replace({ kind: 'secret_field', start: 0, end: v.length, value: v });
      }
      return redactSecrets(v, knownSecrets, options);
    }
    if (Array.isArray(v)) return v.map((item) => walk(item, undefined));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        Object.defineProperty(out, k, {
          value: walk(item, k),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return v;
  };
  return walk(value, undefined) as T;
}
