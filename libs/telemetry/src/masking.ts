/**
 * Secret masking for everything Palisade writes to logs and span attributes.
 *
 * Three independent nets, applied together:
 *  1. keys — a field whose name looks sensitive (password, token, key, seed, authorization, cookie…)
 *     is replaced by MASK whatever its value (except null/undefined/boolean, which cannot carry a secret);
 *  2. known values — every string is searched for the secrets registered with registerSecret()
 *     (libs/config registers each sensitive setting once it is loaded);
 *  3. patterns — well-known secret shapes inside free text (Bearer/Basic credentials, sk_/pk_ keys,
 *     PEM private keys, NATS nkey seeds, JWTs, URL userinfo passwords, key=value pairs…).
 *
 * Masking errs on the side of hiding: an over-masked log line costs a little debugging,
 * a leaked credential costs a rotation and an incident.
 */

export const MASK = '***';

/** Registered secrets shorter than this are ignored: masking "abc" everywhere would wreck the logs. */
export const MIN_REGISTERED_SECRET_LENGTH = 4;

const MAX_DEPTH = 8;
const MAX_ARRAY_ITEMS = 200;

// ---------------------------------------------------------------------------------------------
// Known secret values (process-wide; kept on globalThis so two copies of this module share it).

const REGISTRY_KEY = Symbol.for('palisade.telemetry.secrets');

interface SecretRegistry {
  values: Set<string>;
  /** longest first, so that a secret containing another is masked as a whole */
  sorted: string[];
}

function registry(): SecretRegistry {
  const g = globalThis as unknown as Record<symbol, SecretRegistry | undefined>;
  let r = g[REGISTRY_KEY];
  if (!r) {
    r = { values: new Set(), sorted: [] };
    g[REGISTRY_KEY] = r;
  }
  return r;
}

function resort(r: SecretRegistry): void {
  r.sorted = [...r.values].sort((a, b) => b.length - a.length);
}

/**
 * Remember a secret value so that it is masked wherever it later appears in a log line or in an
 * error message, whatever the field is called. Values shorter than MIN_REGISTERED_SECRET_LENGTH
 * are ignored. Surrounding whitespace is trimmed too (secret files usually end with a newline),
 * and both the raw and the trimmed value are registered.
 */
export function registerSecret(value: string | Buffer | null | undefined): void {
  if (value === null || value === undefined) return;
  const raw = typeof value === 'string' ? value : value.toString('utf8');
  const r = registry();
  let changed = false;
  for (const v of new Set([raw, raw.trim()])) {
    if (v.length >= MIN_REGISTERED_SECRET_LENGTH && !r.values.has(v)) {
      r.values.add(v);
      changed = true;
    }
  }
  if (changed) resort(r);
}

/** Forget a registered secret (after rotation). */
export function unregisterSecret(value: string): void {
  const r = registry();
  if (r.values.delete(value) || r.values.delete(value.trim())) resort(r);
}

/** Forget every registered secret. Meant for tests. */
export function clearRegisteredSecrets(): void {
  const r = registry();
  r.values.clear();
  r.sorted = [];
}

// ---------------------------------------------------------------------------------------------
// Sensitive keys

/** Substrings of the normalised key (lower case, separators removed) that mark it sensitive. */
const SENSITIVE_SUBSTRINGS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'authorization',
  'cookie',
  'credential',
];

/** Whole words of the key (split on camelCase, '_', '-', '.', ' ') that mark it sensitive. */
const SENSITIVE_WORDS = new Set([
  'pass',
  'pwd',
  'pin',
  'otp',
  'key',
  'keys',
  'seed',
  'seeds',
  'nkey',
  'jwt',
  'bearer',
  'private',
  'creds',
  'dsn',
]);

/** Keys that contain a sensitive word but name something public or merely an identifier. */
const NOT_SENSITIVE = new Set([
  'publickey',
  'publickeys',
  'keyid',
  'kid',
  'idempotencykey',
  'cachekey',
  'routingkey',
  'partitionkey',
  'sortkey',
  'primarykey',
  'foreignkey',
  'aggregatekey',
  'dedupkey',
  'deduplicationkey',
  'messagekey',
  'keycount',
  'haspassword',
  'passwordset',
]);

/** LLM usage counters are called "tokens" too: promptTokens, max_tokens, tokenCount, tokens_used… */
const TOKEN_COUNTER =
  /^(?:max|prompt|completion|total|input|output|num|eval|cached|reasoning|context|remaining|used)tokens?(?:count|used|usage|limit|remaining|details)?$|^tokens?(?:count|used|usage|limit|remaining|details)$/;

const keyCache = new Map<string, boolean>();

/** True when a field called `key` should never be logged in clear. */
export function isSensitiveKey(key: string): boolean {
  const cached = keyCache.get(key);
  if (cached !== undefined) return cached;
  const result = computeSensitiveKey(key);
  if (keyCache.size < 10_000) keyCache.set(key, result);
  return result;
}

function computeSensitiveKey(key: string): boolean {
  const normalised = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (normalised === '' || NOT_SENSITIVE.has(normalised) || TOKEN_COUNTER.test(normalised)) return false;
  if (normalised === 'auth') return true;
  if (SENSITIVE_SUBSTRINGS.some((s) => normalised.includes(s))) return true;
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((w) => SENSITIVE_WORDS.has(w));
}

// ---------------------------------------------------------------------------------------------
// Secret-shaped text

/** A credential after Bearer/Basic looks like one: 8+ characters with a digit, a symbol or inner capitals. */
function looksLikeCredential(token: string): boolean {
  return token.length >= 8 && (/[0-9\-._~+/=]/.test(token) || /[A-Z]/.test(token.slice(1)));
}

type Replacer = (substring: string, ...groups: string[]) => string;

/** Keep the key=value / "key": "value" matches only when the key is sensitive. */
function maskIfSensitiveKey(m: string, key: string, sep: string): string {
  return isSensitiveKey(key) ? `${key}${sep}${MASK}` : m;
}

// Every pattern below is linear in the input: runs are entered only at their start (lookbehind),
// repetitions are bounded where a failed match could rescan, so a hostile 1 MB string stays cheap.
const PATTERNS: Array<[RegExp, string | Replacer]> = [
  // PEM private keys (RSA, EC, OPENSSH, ENCRYPTED, PGP … BLOCK), also when truncated.
  [
    /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    MASK,
  ],
  // HTTP header lines carrying credentials: "Authorization: Bearer …", "Cookie: a=b; c=d".
  [
    /\b((?:proxy-)?authorization|set-cookie|cookie|x-api-key|x-auth-token)(\s*:\s*)([^\r\n]+)/gi,
    `$1$2${MASK}`,
  ],
  // Authorization schemes in free text.
  [
    /\b(Bearer|Basic)(\s+)([A-Za-z0-9\-._~+/]+=*)/gi,
    (m: string, scheme: string, space: string, cred: string) =>
      looksLikeCredential(cred) ? `${scheme}${space}${MASK}` : m,
  ],
  // JSON-looking "password": "value" inside a string (a serialised body in an error message).
  [
    /"([^"\\\n]{1,100})("\s*:\s*")(?:[^"\\]|\\.)*"/g,
    (m: string, key: string, sep: string) => (isSensitiveKey(key) ? `"${key}${sep}${MASK}"` : m),
  ],
  // key=value (query strings, DSNs, env dumps): access_token=…, password=…
  [/(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{1,100})(=)[^\s&;,"'<>]+/g, maskIfSensitiveKey],
  // Passwords in URL userinfo: scheme://user:password@host
  [/(?<![a-zA-Z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]{0,30}:\/\/)([^\s:@/]*):([^\s@/]+)@/g, `$1$2:${MASK}@`],
  // JWTs (also NATS user JWTs): header.payload.signature, both base64url of '{"'.
  [/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, MASK],
  // NATS nkey seeds: S + type (U user, A account, O operator, N server, C cluster, X curve) + base32.
  [/\bS[UAONCXP][A-Z2-7]{50,}\b/g, MASK],
  // Stripe / OpenAI / Anthropic style API keys: sk_live_…, pk_test_…, rk_…, sk-proj-…, sk-ant-… (with a digit,
  // so that constraint names such as pk_events_stream stay readable).
  [/\b(?:sk|pk|rk)[_-](?=[A-Za-z0-9_-]{0,256}[0-9])[A-Za-z0-9_-]{12,}/g, MASK],
  // GitHub, Slack and AWS access keys.
  [
    /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b/g,
    MASK,
  ],
  // Nextcloud app passwords: five groups of five alphanumerics.
  [/\b[A-Za-z0-9]{5}(?:-[A-Za-z0-9]{5}){4}\b/g, MASK],
];

/** Mask registered secrets and secret-shaped substrings in a piece of free text. */
export function maskString(text: string): string {
  if (text.length === 0) return text;
  let out = text;
  for (const secret of registry().sorted) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  for (const [re, replacement] of PATTERNS) {
    re.lastIndex = 0;
    out = out.replace(re, replacement as string);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Deep redaction of arbitrary values

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string | number;
  cause?: unknown;
  errors?: unknown[];
  [field: string]: unknown;
}

/**
 * Return a JSON-safe deep copy of `value` with every secret masked: sensitive keys, registered
 * values and secret-shaped text. Errors become {name, message, stack, code, cause, …own fields};
 * Buffers are never dumped; cycles and excessive depth are cut.
 */
export function redact(value: unknown): unknown {
  return walk(value, 0, new WeakSet());
}

/** Serialise an Error (or anything thrown) without leaking secrets from its message, stack or fields. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return errorToJson(err, 0, new WeakSet());
  return { name: 'NonError', message: maskString(typeof err === 'string' ? err : safeString(err)) };
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'object' ? JSON.stringify(walk(value, 0, new WeakSet())) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function maskedFieldValue(value: unknown): unknown {
  // null/undefined/boolean cannot carry a secret, and "password: null" is useful when debugging.
  return value === null || value === undefined || typeof value === 'boolean' ? value : MASK;
}

function errorToJson(err: Error, depth: number, seen: WeakSet<object>): SerializedError {
  seen.add(err);
  try {
    return errorFields(err, depth, seen);
  } finally {
    seen.delete(err);
  }
}

function errorFields(err: Error, depth: number, seen: WeakSet<object>): SerializedError {
  const out: SerializedError = {
    name: maskString(String(err.name || 'Error')),
    message: maskString(String(err.message ?? '')),
  };
  if (typeof err.stack === 'string') out.stack = maskString(err.stack);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number')
    out.code = typeof code === 'string' ? maskString(code) : code;
  if (depth < MAX_DEPTH) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause !== undefined) out.cause = walk(cause, depth + 1, seen);
    if (err instanceof AggregateError && Array.isArray(err.errors)) {
      out.errors = err.errors.slice(0, MAX_ARRAY_ITEMS).map((e) => walk(e, depth + 1, seen));
    }
    for (const key of Object.keys(err)) {
      if (key in out || key === 'cause' || key === 'errors') continue;
      const v = (err as unknown as Record<string, unknown>)[key];
      out[key] = isSensitiveKey(key) ? maskedFieldValue(v) : walk(v, depth + 1, seen);
    }
  }
  return out;
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case 'string':
      return maskString(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return value.toString();
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function ${value.name || 'anonymous'}]`;
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) return '[Circular]';
  if (obj instanceof Error) return errorToJson(obj, depth, seen);
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (Buffer.isBuffer(obj) || ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
    return `[Binary ${(obj as ArrayBuffer).byteLength} bytes]`;
  }
  if (obj instanceof URL) return maskString(obj.href);
  if (obj instanceof RegExp) return obj.toString();
  if (typeof (obj as Promise<unknown>).then === 'function') return '[Promise]';
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      const items = obj.slice(0, MAX_ARRAY_ITEMS).map((v) => walk(v, depth + 1, seen));
      if (obj.length > MAX_ARRAY_ITEMS) items.push(`[… ${obj.length - MAX_ARRAY_ITEMS} more]`);
      return items;
    }
    if (obj instanceof Set) return walk([...obj], depth, seen);
    if (obj instanceof Map) {
      const rec: Record<string, unknown> = {};
      for (const [k, v] of obj) {
        const key = typeof k === 'string' ? k : safeString(k);
        rec[key] = isSensitiveKey(key) ? maskedFieldValue(v) : walk(v, depth + 1, seen);
      }
      return rec;
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      let json: unknown;
      try {
        json = toJSON.call(obj);
      } catch {
        json = '[Unserialisable]';
      }
      if (json !== obj) return walk(json, depth + 1, seen);
    }
    const rec: Record<string, unknown> = {};
    for (const key of Object.keys(obj)) {
      const v = (obj as Record<string, unknown>)[key];
      rec[key] = isSensitiveKey(key) ? maskedFieldValue(v) : walk(v, depth + 1, seen);
    }
    return rec;
  } finally {
    seen.delete(obj);
  }
}
