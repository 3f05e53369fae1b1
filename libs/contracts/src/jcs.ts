// RFC 8785 JSON Canonicalization Scheme. Hashes and signatures are computed over these bytes,
// so the input is checked first: plain JSON would silently drop `undefined`, turn NaN into
// null and Dates into strings, and two services could then disagree on what was signed.
import canonicalize from 'canonicalize';

export class JcsError extends TypeError {
  override readonly name = 'JcsError';
}

// `skipUndefinedProps` lets toJsonObject() accept optional fields left undefined; jcs() refuses them.
function assertJsonValue(
  value: unknown,
  path: string,
  ancestors: Set<object>,
  skipUndefinedProps = false,
): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new JcsError(`${path}: non-finite number ${value}`);
      return;
    case 'object':
      break;
    default:
      // undefined, bigint, function, symbol
      throw new JcsError(`${path}: ${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw new JcsError(`${path}: circular reference`);
  if (Array.isArray(value)) {
    ancestors.add(value);
    value.forEach((item, i) => assertJsonValue(item, `${path}[${i}]`, ancestors, skipUndefinedProps));
    ancestors.delete(value);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  const isPlainish =
    proto === null ||
    proto === Object.prototype ||
    typeof (value as { toJSON?: unknown }).toJSON !== 'function';
  if (!isPlainish || value instanceof Map || value instanceof Set || ArrayBuffer.isView(value)) {
    throw new JcsError(`${path}: ${proto?.constructor?.name ?? 'object'} is not a plain JSON object`);
  }
  ancestors.add(value);
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined && skipUndefinedProps) continue;
    assertJsonValue(item, `${path}.${key}`, ancestors, skipUndefinedProps);
  }
  ancestors.delete(value);
}

/** True if `value` is made only of JSON values (what jcs() accepts). */
export function isJsonValue(value: unknown): boolean {
  try {
    assertJsonValue(value, '$', new Set());
    return true;
  } catch {
    return false;
  }
}

/** RFC 8785 canonical JSON text of `value`; throws JcsError on anything that is not plain JSON. */
export function jcs(value: unknown): string {
  assertJsonValue(value, '$', new Set());
  const text = canonicalize(value);
  if (text === undefined) throw new JcsError('$: not serialisable');
  return text;
}

/** UTF-8 bytes of jcs(value) — what gets hashed or signed. */
export function jcsBytes(value: unknown): Buffer {
  return Buffer.from(jcs(value), 'utf8');
}

/**
 * A deep copy holding only JSON values, with `undefined` object properties left out (as
 * JSON.stringify does). Used to turn producer input (possibly class instances with unset optional
 * fields) into the exact plain object that will be appended, hashed and signed.
 */
export function toJsonObject<T>(value: T): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        // defineProperty, not assignment: a "__proto__" key from JSON.parse must stay data.
        if (item !== undefined) {
          Object.defineProperty(out, k, {
            value: strip(item),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      return out;
    }
    return v;
  };
  assertJsonValue(value, '$', new Set(), true);
  return strip(value) as T;
}
