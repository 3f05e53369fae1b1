// Redaction of known secret values in command output, for whole texts and for streams that arrive in
// chunks. A secret is matched raw and in the encodings output commonly carries it in: base64
// (standard and URL-safe, at each of the three byte alignments it can have inside a longer base64
// text), hex (lower and upper case), URL- and JSON-escaped.
//
// Streaming: a secret (or one of its encodings) may be split across two chunks. The redactor keeps
// back a tail of at most (longest form - 1) characters that could still be the start of a match and
// emits it with the next chunk or on flush(), so the concatenated output is exactly what redacting
// the whole text at once gives.
//
// The forms matched are exactly those of redactSecrets() in libs/contracts (knownSecretVariants);
// this file adds only the streaming part.
import { knownSecretVariants, MIN_ENCODED_FRAGMENT_LENGTH, MIN_KNOWN_SECRET_LENGTH } from '@palisade/contracts';

/** Known secrets shorter than this are not matched: they would shred ordinary text. */
export const MIN_SECRET_LENGTH = MIN_KNOWN_SECRET_LENGTH;
/** Encoded fragments shorter than this are not matched, for the same reason. */
export const MIN_ENCODED_LENGTH = MIN_ENCODED_FRAGMENT_LENGTH;
/** What every match is replaced with. */
export const REDACTION_MARKER = '[REDACTED:known_secret]';

/** Every form of `secret` that is redacted, longest first (empty if the secret is too short). */
export function secretForms(secret: string): string[] {
  return [...new Set(knownSecretVariants(secret))].sort((a, b) => b.length - a.length);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A compiled set of secrets: one alternation, longest form first so the longest match wins. */
export class SecretMatcher {
  readonly pattern: RegExp | undefined;
  /** Length of the longest form (0 when there is nothing to redact). */
  readonly maxLength: number;

  constructor(secrets: Iterable<string>) {
    const forms = [...new Set([...secrets].flatMap(secretForms))].sort((a, b) => b.length - a.length);
    this.maxLength = forms.length > 0 ? forms[0].length : 0;
    this.pattern = forms.length > 0 ? new RegExp(forms.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  get empty(): boolean {
    return this.pattern === undefined;
  }
}

/** `text` with every form of every known secret replaced by the marker. */
export function redactOutput(
  text: string,
  secrets: Iterable<string> | SecretMatcher,
  marker = REDACTION_MARKER,
): string {
  const matcher = secrets instanceof SecretMatcher ? secrets : new SecretMatcher(secrets);
  if (!matcher.pattern) return text;
  return text.replace(matcher.pattern, marker);
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/**
 * Redacts a text that arrives in chunks. push() returns what can be released now; flush() the rest.
 * Concatenating every return value equals redactOutput() of the concatenated input.
 */
export class StreamRedactor {
  private readonly matcher: SecretMatcher;
  private tail = '';

  constructor(
    secrets: Iterable<string> | SecretMatcher,
    private readonly marker = REDACTION_MARKER,
  ) {
    this.matcher = secrets instanceof SecretMatcher ? secrets : new SecretMatcher(secrets);
  }

  /** Characters currently held back (at most the longest secret form minus one, plus a surrogate). */
  get pending(): number {
    return this.tail.length;
  }

  push(chunk: string): string {
    const pattern = this.matcher.pattern;
    if (!pattern) return chunk;
    const text = this.tail + chunk;
    // A match can only be decided where the longest form still fits in the text seen so far.
    const safe = text.length - (this.matcher.maxLength - 1);
    let out = '';
    let at = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null && m.index < safe; m = pattern.exec(text)) {
      out += text.slice(at, m.index) + this.marker;
      at = m.index + m[0].length;
    }
    let release = Math.max(at, safe);
    // Never end a release between the two halves of a surrogate pair.
    if (release > at && release < text.length && isHighSurrogate(text.charCodeAt(release - 1))) release -= 1;
    out += text.slice(at, release);
    this.tail = text.slice(release);
    return out;
  }

  flush(): string {
    const rest = this.tail;
    this.tail = '';
    return redactOutput(rest, this.matcher, this.marker);
  }
}
