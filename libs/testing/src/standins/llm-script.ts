// Scripting shared by the LLM stand-ins (Ollama, OpenAI-compatible, Anthropic-compatible): a test decides
// per request what "the model" answers — a queue of one-shot replies, then a handler function, then the
// default behaviour (echo the last user message, which is what the bench expects from a pass-through).
import { sleep } from './http-util';

export interface LlmToolCall {
  name: string;
  /** Arguments as an object (Ollama and Anthropic send objects; the OpenAI stand-in serialises them). */
  arguments: Record<string, unknown>;
  /** Call id for OpenAI / Anthropic replies; generated when absent. */
  id?: string;
}

export interface LlmReply {
  /** The assistant text. With `chunks` absent it is streamed as one piece. */
  content?: string;
  /** The assistant text streamed in several pieces (one NDJSON line / SSE event each). */
  chunks?: string[];
  /** Ollama `message.thinking`. */
  thinking?: string;
  toolCalls?: LlmToolCall[];
  /** Answer an error instead: HTTP `status` (default 500) with the provider's error body. */
  error?: string;
  status?: number;
  /** Emit the content chunks, then this error line inside the stream (Ollama's mid-stream failure). */
  streamError?: string;
  /** Wait this long before answering (headers included). */
  delayMs?: number;
  /** Wait this long between streamed pieces. */
  chunkDelayMs?: number;
  /** Ollama done_reason / OpenAI finish_reason / Anthropic stop_reason override. */
  doneReason?: string;
  promptTokens?: number;
  completionTokens?: number;
}

/** A handler may return undefined to fall through to the default (echo) behaviour. */
export type LlmHandler<Req> = (request: Req) => LlmReply | undefined | Promise<LlmReply | undefined>;

export class LlmScript<Req> {
  private readonly queue: Array<LlmReply | LlmHandler<Req>> = [];
  private handler?: LlmHandler<Req>;

  /** One-shot replies, consumed in order, before the handler is asked. */
  enqueue(...replies: Array<LlmReply | LlmHandler<Req>>): void {
    this.queue.push(...replies);
  }

  /** Persistent handler for every request once the queue is empty (undefined removes it). */
  setHandler(handler: LlmHandler<Req> | undefined): void {
    this.handler = handler;
  }

  get pending(): number {
    return this.queue.length;
  }

  reset(): void {
    this.queue.length = 0;
    this.handler = undefined;
  }

  async next(request: Req, fallback: (request: Req) => LlmReply): Promise<LlmReply> {
    const head = this.queue.shift();
    if (head !== undefined) {
      const r = typeof head === 'function' ? await head(request) : head;
      if (r) return r;
    } else if (this.handler) {
      const r = await this.handler(request);
      if (r) return r;
    }
    return fallback(request);
  }
}

/** The text of a chat message content in any of the three providers' shapes. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => {
        if (typeof part === 'string') return part;
        if (part && typeof part === 'object') {
          const p = part as { type?: unknown; text?: unknown };
          if (typeof p.text === 'string') return p.text;
        }
        return '';
      })
      .filter((s) => s !== '')
      .join('\n');
  }
  return '';
}

/** Text of the last message with role "user" (empty string when there is none). */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m && m.role === 'user') return contentText(m.content);
  }
  return '';
}

export function replyPieces(reply: LlmReply): string[] {
  if (reply.chunks && reply.chunks.length > 0) return reply.chunks;
  if (reply.content !== undefined && reply.content !== '') return [reply.content];
  return [];
}

export function replyText(reply: LlmReply): string {
  return replyPieces(reply).join('');
}

export async function applyDelay(ms: number | undefined): Promise<void> {
  if (ms && ms > 0) await sleep(ms);
}

/** Rough token estimate (4 characters per token) for usage fields. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
