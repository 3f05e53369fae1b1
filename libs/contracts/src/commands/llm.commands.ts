import type { ModelRoute } from '../events/agent.events';
import type { Trust } from '../enums';

/** cmd.llm.complete — one model call (the gateway runs the loop; llm-router only routes and calls). */
export const LLM_COMPLETE = 'cmd.llm.complete';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  /** Call id, unique within the turn. */
  id: string;
  name: string;
  /** Parsed JSON arguments as the model gave them. */
  arguments: Record<string, unknown>;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** assistant messages that asked for tools. */
  toolCalls?: ToolCall[];
  /** tool messages: which call this answers, and the tool's name. */
  toolCallId?: string;
  toolName?: string;
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface LlmCompleteRequest {
  session: string;
  turn: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  /** Sender trust of the turn (contracts: untrusted → local model only). */
  trust: Trust;
  /** The context holds untrusted content (tool output, another party's words) → local only. */
  tainted: boolean;
  /** The context holds sensitive content (credentials, secrets, operator label) → local only. */
  sensitive: boolean;
  /** Correlation id of the turn; credential.accessed for a cloud call carries it. */
  correlationId?: string;
}

export interface LlmCompleteReply {
  message: { content: string; toolCalls: ToolCall[] };
  route: ModelRoute;
  model: string;
  /** Wall time of the model call itself. */
  durationMs: number;
  /** Why this route (e.g. "untrusted sender", "secret detected in context", "cloud: trusted turn"). */
  reason: string;
}
