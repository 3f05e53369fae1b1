// Palisade chat <-> OpenAI-compatible /v1/chat/completions (tool arguments travel as JSON strings).
import type { ChatMessage, ToolCall, ToolSpec } from '@palisade/contracts';
import { argumentsObject, llmUnavailable, newToolCallId } from '../complete/model-answer';

export function toOpenAiBody(
  model: string,
  messages: ChatMessage[],
  tools: ToolSpec[],
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages: messages.map((m) => {
      if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content };
      if (m.role === 'assistant' && m.toolCalls?.length) {
        return {
          role: 'assistant',
          content: m.content === '' ? null : m.content,
          tool_calls: m.toolCalls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: JSON.stringify(c.arguments) },
          })),
        };
      }
      return { role: m.role, content: m.content };
    }),
    stream: false,
  };
  if (tools.length) {
    body.tools = tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
  }
  return body;
}

interface OpenAiReply {
  model?: string;
  choices?: {
    message?: {
      content?: string | null;
      tool_calls?: { id?: string; function?: { name?: string; arguments?: unknown } }[];
    };
  }[];
}

export function fromOpenAiReply(
  reply: unknown,
  fallbackModel: string,
): { content: string; toolCalls: ToolCall[]; model: string } {
  const message = (reply as OpenAiReply)?.choices?.[0]?.message;
  if (!message) throw llmUnavailable('the cloud model answered without a message');
  const toolCalls = (message.tool_calls ?? []).map((c) => {
    if (!c.function?.name) throw llmUnavailable('the cloud model returned a tool call without a name');
    return {
      id: c.id || newToolCallId(),
      name: c.function.name,
      arguments: argumentsObject(c.function.arguments ?? '{}'),
    };
  });
  return { content: message.content ?? '', toolCalls, model: (reply as OpenAiReply).model ?? fallbackModel };
}
