import {
  CappedRedactedStream,
  DockerFrameDemuxer,
  type OutputChunk,
  truncateUtf8,
  truncationMarker,
} from './exec-output';
import { REDACTION_MARKER, SecretMatcher } from './stream-redactor';

const frame = (type: number, payload: string | Buffer): Buffer => {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

describe('DockerFrameDemuxer', () => {
  it('splits stdout and stderr frames, however the bytes arrive', () => {
    const wire = Buffer.concat([frame(1, 'out-1\n'), frame(2, 'err-1\n'), frame(1, ''), frame(1, 'out-2\n')]);
    for (const size of [1, 3, 8, 9, 1000]) {
      const seen: string[] = [];
      const demux = new DockerFrameDemuxer((stream, payload) => seen.push(`${stream}:${payload.toString()}`));
      for (let at = 0; at < wire.length; at += size) demux.push(wire.subarray(at, at + size));
      expect(seen.filter((s) => !s.endsWith(':'))).toEqual([
        'stdout:out-1\n',
        'stderr:err-1\n',
        'stdout:out-2\n',
      ]);
      expect(demux.leftover).toBe(0);
    }
  });

  it('reports an incomplete trailing frame', () => {
    const demux = new DockerFrameDemuxer(() => undefined);
    demux.push(frame(1, 'abcdef').subarray(0, 10));
    expect(demux.leftover).toBe(10);
  });
});

describe('truncateUtf8', () => {
  it('cuts at a byte limit without splitting a character', () => {
    expect(truncateUtf8('abc', 10)).toBe('abc');
    expect(truncateUtf8('abcdef', 3)).toBe('abc');
    expect(truncateUtf8('aé', 2)).toBe('a'); // é is two bytes
    expect(truncateUtf8('a😀b', 4)).toBe('a');
    expect(truncateUtf8('a😀b', 5)).toBe('a😀');
  });
});

describe('CappedRedactedStream', () => {
  const none = new SecretMatcher([]);

  it('decodes characters split across frames', () => {
    const stream = new CappedRedactedStream('stdout', 1000, none);
    const bytes = Buffer.from('héllo 😀 wörld');
    for (let i = 0; i < bytes.length; i += 1) stream.write(bytes.subarray(i, i + 1));
    expect(stream.end()).toBe('héllo 😀 wörld');
    expect(stream.truncated).toBe(false);
  });

  it('keeps at most limit bytes, then one marker; chunks add up to the result', () => {
    const chunks: OutputChunk[] = [];
    const stream = new CappedRedactedStream('stderr', 10, none, (c) => chunks.push(c));
    stream.write(Buffer.from('12345'));
    stream.write(Buffer.from('67890abc'));
    stream.write(Buffer.from('more and more'));
    const text = stream.end();
    expect(text).toBe(`1234567890${truncationMarker('stderr', 10)}`);
    expect(stream.truncated).toBe(true);
    expect(chunks.map((c) => c.data).join('')).toBe(text);
    expect(chunks.every((c) => c.stream === 'stderr')).toBe(true);
  });

  it('counts bytes, not characters', () => {
    const stream = new CappedRedactedStream('stdout', 5, none);
    stream.write(Buffer.from('ééé'));
    expect(stream.end()).toBe(`éé${truncationMarker('stdout', 5)}`);
  });

  it('redacts before it caps, including a secret split across writes', () => {
    const secret = 'correct-horse-battery';
    const stream = new CappedRedactedStream('stdout', 1000, new SecretMatcher([secret]));
    stream.write(Buffer.from(`pw=${secret.slice(0, 7)}`));
    stream.write(Buffer.from(`${secret.slice(7)}\n`));
    expect(stream.end()).toBe(`pw=${REDACTION_MARKER}\n`);
  });

  it('the limit applies to the redacted text', () => {
    const secret = 'correct-horse-battery';
    const stream = new CappedRedactedStream('stdout', 8, new SecretMatcher([secret]));
    stream.write(Buffer.from(`${secret}${secret}`));
    const text = stream.end();
    expect(text).not.toContain('correct');
    expect(text.startsWith(REDACTION_MARKER.slice(0, 8))).toBe(true);
    expect(stream.truncated).toBe(true);
  });
});
