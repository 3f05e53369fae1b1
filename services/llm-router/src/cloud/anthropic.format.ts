// Palisade chat <-> Anthropic /v1/messages. System text goes top-level; tool results are user turns
// holding tool_result blocks; consecutive same-role turns are merged (the API wants alternation).
import type { ChatMessage, ToolCall, ToolSpec } from '@palisade/contracts';
import { llmUnavailable, newToolCallId } from '../complete/model-answer';

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

export function toAnthropicBody(
  model: string,
  maxTokens: number,
  messages: ChatMessage[],
  tools: ToolSpec[],
): Record<string, unknown> {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const turns: AnthropicMessage[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    let role: AnthropicMessage['role'];
    let blocks: Block[];
    if (m.role === 'tool') {
      role = 'user';
      blocks = [{ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: m.content }];
    } else if (m.role === 'assistant') {
      role = 'assistant';
      blocks = [
        ...(m.content !== '' ? [{ type: 'text', text: m.content }] : []),
        ...(m.toolCalls ?? []).map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.arguments })),
      ];
    } else {
      role = 'user';
      blocks = [{ type: 'text', text: m.content }];
    }
    if (blocks.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  }
  const body: Record<string, unknown> = { model, max_tokens: maxTokens, messages: turns };
  if (system.length) body.system = system.join('\n\n');
  if (tools.length) {
    body.tools = tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
  }
  return body;
}

interface AnthropicReply {
  model?: string;
  content?: { type?: string; text?: string; id?: string; name?: string; input?: unknown }[];
}

export function fromAnthropicReply(
  reply: unknown,
  fallbackModel: string,
): { content: string; toolCalls: ToolCall[]; model: string } {
  const blocks = (reply as AnthropicReply)?.content;
  if (!Array.isArray(blocks)) throw llmUnavailable('the cloud model answered without content');
  const text = blocks
    .filter((b) => b.type === 'text')
    .map((b) => b.text ?? '')
    .join('');
  const toolCalls = blocks
    .filter((b) => b.type === 'tool_use')
    .map((b) => {
      if (!b.name) throw llmUnavailable('the cloud model returned a tool call without a name');
      const input =
        b.input !== null && typeof b.input === 'object' && !Array.isArray(b.input)
          ? (b.input as Record<string, unknown>)
          : {};
      return { id: b.id || newToolCallId(), name: b.name, arguments: input };
    });
  return { content: text, toolCalls, model: (reply as AnthropicReply).model ?? fallbackModel };
}
