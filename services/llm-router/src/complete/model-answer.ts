import { randomBytes } from 'node:crypto';
import { RpcError, RpcErrorCode, type ChatMessage, type ToolCall, type ToolSpec } from '@palisade/contracts';

/** What one model call produced, whichever route it took. */
export interface ModelAnswer {
  content: string;
  toolCalls: ToolCall[];
  model: string;
}

/** A model endpoint, local or cloud: one call, no retries, no fallback. */
export interface ModelCall {
  messages: ChatMessage[];
  tools: ToolSpec[];
}

/** Tool call ids must be unique within a turn that spans several model calls: random, not positional. */
export function newToolCallId(): string {
  return `call_${randomBytes(9).toString('base64url')}`;
}

export function llmUnavailable(message: string): RpcError {
  return new RpcError(RpcErrorCode.LlmUnavailable, message);
}

/** Model-supplied arguments as an object (some models send a JSON string). */
export function argumentsObject(raw: unknown): Record<string, unknown> {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) return raw as Record<string, unknown>;
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw === '' ? '{}' : raw);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
  }
  throw llmUnavailable('the model returned tool call arguments that are not a JSON object');
}

/** Network-level failure text without anything from the request (which may hold content or a key). */
export function networkCause(error: unknown): string {
  const e = error as { name?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  const code = e?.cause?.code ?? e?.code;
  if (code) return String(code);
  return e?.cause?.message ?? 'connection failed';
}
