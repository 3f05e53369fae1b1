// Palisade chat messages <-> Ollama's native /api/chat shapes. Ollama tool calls carry no id: ids are
// made here, and dropped again when the conversation goes back (Ollama matches results by tool_name).
import type { Message as OllamaMessage, Tool as OllamaTool, ToolCall as OllamaToolCall } from 'ollama';
import type { ChatMessage, ToolCall, ToolSpec } from '@palisade/contracts';
import { argumentsObject, newToolCallId } from '../complete/model-answer';

export function toOllamaMessages(messages: ChatMessage[]): OllamaMessage[] {
  return messages.map((m) => {
    if (m.role === 'tool')
      return { role: 'tool', content: m.content, ...(m.toolName ? { tool_name: m.toolName } : {}) };
    const out: OllamaMessage = { role: m.role, content: m.content };
    if (m.role === 'assistant' && m.toolCalls?.length) {
      out.tool_calls = m.toolCalls.map((call) => ({
        function: { name: call.name, arguments: call.arguments },
      }));
    }
    return out;
  });
}

export function toOllamaTools(tools: ToolSpec[]): OllamaTool[] {
  return tools.map((t) => ({
    type: 'function',
    function: {
      name: t.name,
      description: t.description,
      parameters: t.parameters as OllamaTool['function']['parameters'],
    },
  }));
}

export function fromOllamaToolCalls(calls: OllamaToolCall[] | undefined): ToolCall[] {
  return (calls ?? []).map((call) => {
    const withId = call as OllamaToolCall & { id?: unknown };
    return {
      id: typeof withId.id === 'string' && withId.id !== '' ? withId.id : newToolCallId(),
      name: call.function.name,
      arguments: argumentsObject(call.function.arguments),
    };
  });
}
