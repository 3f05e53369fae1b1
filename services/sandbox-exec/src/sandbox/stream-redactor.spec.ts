import {
  MIN_SECRET_LENGTH,
  REDACTION_MARKER,
  redactOutput,
  SecretMatcher,
  secretForms,
  StreamRedactor,
} from './stream-redactor';

const SECRET = 'hunter2-Sup3r/Secret+Value';
const M = REDACTION_MARKER;

/** Deterministic PRNG (mulberry32) so a failing split can be reproduced. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function streamIn(redactor: StreamRedactor, parts: string[]): string[] {
  const out = parts.map((p) => redactor.push(p));
  out.push(redactor.flush());
  return out;
}

describe('secretForms', () => {
  it('covers raw, base64 (std, url-safe, every alignment), hex, URL and JSON escaping', () => {
    const forms = secretForms(SECRET);
    const bytes = Buffer.from(SECRET);
    expect(forms).toContain(SECRET);
    expect(forms).toContain(bytes.toString('base64'));
    expect(forms).toContain(bytes.toString('base64url'));
    expect(forms).toContain(bytes.toString('hex'));
    expect(forms).toContain(bytes.toString('hex').toUpperCase());
    expect(forms).toContain(encodeURIComponent(SECRET));
    // Longest first, so the longest match wins at a position.
    expect([...forms].sort((a, b) => b.length - a.length)).toEqual(forms);
  });

  it('ignores secrets too short to redact safely', () => {
    expect(secretForms('abc')).toEqual([]);
    expect(secretForms('abcd').length).toBeGreaterThan(0);
    expect(MIN_SECRET_LENGTH).toBe(4);
  });
});

describe('redactOutput', () => {
  it('redacts the raw value', () => {
    expect(redactOutput(`token=${SECRET}; again ${SECRET}.`, [SECRET])).toBe(`token=${M}; again ${M}.`);
  });

  it('redacts base64 and hex forms', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    const hex = Buffer.from(SECRET).toString('hex');
    const text = `b64 ${b64}\nhex ${hex}\nHEX ${hex.toUpperCase()}\nurl ${Buffer.from(SECRET).toString('base64url')}`;
    const out = redactOutput(text, [SECRET]);
    expect(out).toBe(`b64 ${M}\nhex ${M}\nHEX ${M}\nurl ${M}`);
  });

  it('redacts the secret inside a longer base64 text at any byte offset', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:', 'Authorization: Basic ']) {
      for (const suffix of ['', 'x', 'xy', ':more']) {
        const encoded = Buffer.from(`${prefix}${SECRET}${suffix}`).toString('base64');
        const out = redactOutput(encoded, [SECRET]);
        expect(out).toContain(M);
        // What is left cannot be decoded back into the secret.
        expect(Buffer.from(out.replace(M, ''), 'base64').toString('latin1')).not.toContain(
          SECRET.slice(2, -2),
        );
      }
    }
  });

  it('redacts URL- and JSON-escaped forms', () => {
    const secret = 'p@ss "word"/with\\slash';
    expect(redactOutput(`q=${encodeURIComponent(secret)}`, [secret])).toBe(`q=${M}`);
    expect(redactOutput(JSON.stringify({ password: secret }), [secret])).toBe(`{"password":"${M}"}`);
  });

  it('leaves text without secrets alone; several secrets at once; the longest wins', () => {
    expect(redactOutput('nothing here', [SECRET])).toBe('nothing here');
    expect(redactOutput('nothing here', [])).toBe('nothing here');
    expect(redactOutput('a=abcdefgh b=abcdefgh-longer', ['abcdefgh', 'abcdefgh-longer'])).toBe(
      `a=${M} b=${M}`,
    );
  });
});

describe('StreamRedactor', () => {
  const b64 = Buffer.from(SECRET).toString('base64');
  const hex = Buffer.from(SECRET).toString('hex');
  const text = `start ${SECRET} middle ${b64} and ${hex} then base64 of a line: ${Buffer.from(`x${SECRET}\n`).toString('base64')} end ${SECRET}`;
  const expected = redactOutput(text, [SECRET]);

  it('equals whole-text redaction for every split into two chunks, and never releases the secret', () => {
    for (let at = 0; at <= text.length; at += 1) {
      const out = streamIn(new StreamRedactor([SECRET]), [text.slice(0, at), text.slice(at)]);
      expect(out.join('')).toBe(expected);
      for (const chunk of out) {
        expect(chunk).not.toContain(SECRET);
        expect(chunk).not.toContain(b64.slice(0, 16));
        expect(chunk).not.toContain(hex.slice(0, 16));
      }
    }
  });

  it('equals whole-text redaction for random chunkings, down to one character at a time', () => {
    const random = rng(42);
    for (let round = 0; round < 300; round += 1) {
      const parts: string[] = [];
      for (let at = 0; at < text.length;) {
        const size = round === 0 ? 1 : 1 + Math.floor(random() * 40);
        parts.push(text.slice(at, at + size));
        at += size;
      }
      const redactor = new StreamRedactor([SECRET]);
      const out = parts.map((p) => {
        const released = redactor.push(p);
        expect(redactor.pending).toBeLessThan(new SecretMatcher([SECRET]).maxLength);
        return released;
      });
      out.push(redactor.flush());
      expect(out.join('')).toBe(expected);
    }
  });

  it('holds back only a possible secret prefix: a partial secret is not released before it is decided', () => {
    const redactor = new StreamRedactor([SECRET]);
    const first = redactor.push(`log line\n${SECRET.slice(0, 10)}`);
    expect(first).not.toContain(SECRET.slice(0, 10));
    const second = redactor.push(`${SECRET.slice(10)}\n`);
    expect(first + second + redactor.flush()).toBe(`log line\n${M}\n`);
  });

  it('releases the tail on flush when no secret follows', () => {
    const redactor = new StreamRedactor([SECRET]);
    const out = streamIn(redactor, ['abc', SECRET.slice(0, 5)]);
    expect(out.join('')).toBe(`abc${SECRET.slice(0, 5)}`);
    expect(redactor.pending).toBe(0);
  });

  it('passes chunks through unchanged when there are no secrets', () => {
    const redactor = new StreamRedactor([]);
    expect(redactor.push('abc')).toBe('abc');
    expect(redactor.pending).toBe(0);
    expect(redactor.flush()).toBe('');
  });

  it('never splits a surrogate pair between two releases', () => {
    const emoji = '😀';
    const input = `${'x'.repeat(50)}${emoji.repeat(40)}`;
    for (let at = 1; at < input.length; at += 1) {
      const out = streamIn(new StreamRedactor(['some-secret-value']), [input.slice(0, at), input.slice(at)]);
      expect(out.join('')).toBe(input);
      for (const chunk of out.filter((c) => c.length > 0)) {
        const last = chunk.charCodeAt(chunk.length - 1);
        expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
      }
    }
  });
});
