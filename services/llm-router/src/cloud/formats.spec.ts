import type { ChatMessage, ToolSpec } from '@palisade/contracts';
import { fromOllamaToolCalls, toOllamaMessages, toOllamaTools } from '../local/ollama.format';
import { fromAnthropicReply, toAnthropicBody } from './anthropic.format';
import { fromOpenAiReply, toOpenAiBody } from './openai.format';

const exec: ToolSpec = {
  name: 'exec',
  description: 'run a shell command',
  parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
};
const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are Palisade.' },
  { role: 'user', content: 'who am I?' },
  {
    role: 'assistant',
    content: '',
    toolCalls: [{ id: 'call_1', name: 'exec', arguments: { command: 'id -u' } }],
  },
  { role: 'tool', content: '1000', toolCallId: 'call_1', toolName: 'exec' },
];

describe('Ollama format', () => {
  it('maps assistant tool calls and tool results to the native shapes', () => {
    expect(toOllamaMessages(conversation)).toEqual([
      { role: 'system', content: 'You are Palisade.' },
      { role: 'user', content: 'who am I?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { name: 'exec', arguments: { command: 'id -u' } } }],
      },
      { role: 'tool', content: '1000', tool_name: 'exec' },
    ]);
    expect(toOllamaTools([exec])).toEqual([
      {
        type: 'function',
        function: { name: 'exec', description: 'run a shell command', parameters: exec.parameters },
      },
    ]);
  });

  it('gives id-less tool calls unique ids and accepts JSON-string arguments', () => {
    const calls = fromOllamaToolCalls([
      { function: { name: 'exec', arguments: { command: 'ls' } } },
      { function: { name: 'exec', arguments: '{"command":"pwd"}' as unknown as Record<string, unknown> } },
    ]);
    expect(calls.map((c) => [c.name, c.arguments])).toEqual([
      ['exec', { command: 'ls' }],
      ['exec', { command: 'pwd' }],
    ]);
    expect(calls[0].id).toMatch(/^call_/);
    expect(calls[0].id).not.toBe(calls[1].id);
  });

  it('refuses arguments that are not an object', () => {
    expect(() => fromOllamaToolCalls([{ function: { name: 'x', arguments: 'nope' as never } }])).toThrow(
      expect.objectContaining({ code: 'llm_unavailable' }),
    );
  });
});

describe('OpenAI format', () => {
  it('serialises tool calls as JSON strings and tool results by call id', () => {
    const body = toOpenAiBody('gpt-x', conversation, [exec]);
    expect(body.messages).toEqual([
      { role: 'system', content: 'You are Palisade.' },
      { role: 'user', content: 'who am I?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'exec', arguments: '{"command":"id -u"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '1000' },
    ]);
    expect(body.tools).toEqual([
      {
        type: 'function',
        function: { name: 'exec', description: exec.description, parameters: exec.parameters },
      },
    ]);
  });

  it('parses a reply with tool calls', () => {
    const reply = {
      model: 'gpt-x-2026',
      choices: [
        {
          message: {
            content: null,
            tool_calls: [
              { id: 'call_9', type: 'function', function: { name: 'exec', arguments: '{"command":"ls"}' } },
            ],
          },
        },
      ],
    };
    expect(fromOpenAiReply(reply, 'gpt-x')).toEqual({
      content: '',
      toolCalls: [{ id: 'call_9', name: 'exec', arguments: { command: 'ls' } }],
      model: 'gpt-x-2026',
    });
  });
});

describe('Anthropic format', () => {
  it('lifts system text, turns tool results into user tool_result blocks and merges same-role turns', () => {
    const body = toAnthropicBody(
      'claude-x',
      512,
      [...conversation, { role: 'user', content: 'thanks' }],
      [exec],
    );
    expect(body.system).toBe('You are Palisade.');
    expect(body.max_tokens).toBe(512);
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'who am I?' }] },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'call_1', name: 'exec', input: { command: 'id -u' } }],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '1000' },
          { type: 'text', text: 'thanks' },
        ],
      },
    ]);
    expect(body.tools).toEqual([
      { name: 'exec', description: exec.description, input_schema: exec.parameters },
    ]);
  });

  it('parses text and tool_use blocks', () => {
    const reply = {
      content: [
        { type: 'text', text: 'Let me check. ' },
        { type: 'tool_use', id: 'toolu_1', name: 'exec', input: { command: 'date' } },
      ],
    };
    expect(fromAnthropicReply(reply, 'claude-x')).toEqual({
      content: 'Let me check. ',
      toolCalls: [{ id: 'toolu_1', name: 'exec', arguments: { command: 'date' } }],
      model: 'claude-x',
    });
  });
});
