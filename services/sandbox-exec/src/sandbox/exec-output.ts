// The output side of a sandboxed command: Docker's multiplexed exec stream is split into stdout and
// stderr, decoded as UTF-8 (a character split across frames is kept whole), redacted, and capped.
import { StringDecoder } from 'node:string_decoder';
import { SecretMatcher, StreamRedactor } from './stream-redactor';

export type OutputStreamName = 'stdout' | 'stderr';

export interface OutputChunk {
  stream: OutputStreamName;
  /** Redacted text; after the cap, one last chunk holding the truncation marker. */
  data: string;
}

export type OnOutputChunk = (chunk: OutputChunk) => void;

/** The line appended to a stream that reached its cap. */
export const truncationMarker = (stream: OutputStreamName, limit: number): string =>
  `\n[palisade: ${stream} truncated: output limit of ${limit} bytes reached]\n`;

/**
 * Docker's stream format for a container or exec without a TTY: frames of an 8-byte header
 * (stream type; 3 zero bytes; payload length, uint32 big-endian) followed by the payload.
 * Frames may arrive split over, or packed into, socket reads.
 */
export class DockerFrameDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: OutputStreamName, payload: Buffer) => void) {}

  push(data: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const type = buf[0];
      const payload = buf.subarray(8, 8 + size);
      // 1 = stdout, 2 = stderr; 0 (stdin) and 3 (system error) are reported on stderr.
      this.onFrame(type === 1 ? 'stdout' : 'stderr', payload);
      buf = buf.subarray(8 + size);
    }
    this.pending = Buffer.from(buf);
  }

  /** Bytes of an incomplete frame left when the stream ended (0 for a well-formed stream). */
  get leftover(): number {
    return this.pending.length;
  }
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let cut = Math.max(0, maxBytes);
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut -= 1; // back off a continuation byte
  return bytes.subarray(0, cut).toString('utf8');
}

/** One output stream: decode, redact, keep up to `limit` bytes, report chunks as they are released. */
export class CappedRedactedStream {
  private readonly decoder = new StringDecoder('utf8');
  private readonly redactor: StreamRedactor;
  private readonly parts: string[] = [];
  private bytes = 0;
  private _truncated = false;
  private finished = false;

  constructor(
    readonly name: OutputStreamName,
    readonly limit: number,
    matcher: SecretMatcher,
    private readonly onChunk?: OnOutputChunk,
  ) {
    this.redactor = new StreamRedactor(matcher);
  }

  get truncated(): boolean {
    return this._truncated;
  }

  write(data: Buffer): void {
    if (this.finished || this._truncated) return; // past the cap the rest is drained and dropped
    this.accept(this.redactor.push(this.decoder.write(data)));
  }

  /** Releases what the decoder and the redactor hold back; returns the whole kept text. */
  end(): string {
    if (!this.finished) {
      this.finished = true;
      if (!this._truncated) this.accept(this.redactor.push(this.decoder.end()) + this.redactor.flush());
    }
    return this.parts.join('');
  }

  private accept(text: string): void {
    if (text.length === 0 || this._truncated) return;
    const size = Buffer.byteLength(text, 'utf8');
    if (this.bytes + size <= this.limit) {
      this.bytes += size;
      this.emit(text);
      return;
    }
    const kept = truncateUtf8(text, this.limit - this.bytes);
    this.bytes += Buffer.byteLength(kept, 'utf8');
    this._truncated = true;
    if (kept.length > 0) this.emit(kept);
    this.emit(truncationMarker(this.name, this.limit));
  }

  private emit(text: string): void {
    this.parts.push(text);
    try {
      this.onChunk?.({ stream: this.name, data: text });
    } catch {
      // A failing consumer must not break the run (nor throw inside a socket's data handler).
    }
  }
}
