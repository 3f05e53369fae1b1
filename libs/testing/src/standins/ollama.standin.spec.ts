import { Ollama } from 'ollama';
import { OllamaStandin } from './ollama.standin';

interface ChatLine {
  model?: string;
  created_at?: string;
  message?: {
    role: string;
    content: string;
    tool_calls?: Array<{ function: { name: string; arguments: Record<string, unknown> } }>;
  };
  done?: boolean;
  done_reason?: string;
  total_duration?: number;
  eval_count?: number;
  prompt_eval_count?: number;
  error?: string;
}

async function chat(
  url: string,
  body: unknown,
): Promise<{ status: number; type: string | null; lines: ChatLine[]; text: string }> {
  const res = await fetch(`${url}/api/chat`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ChatLine);
  return { status: res.status, type: res.headers.get('content-type'), lines, text };
}

const user = (content: string) => [{ role: 'user', content }];

describe('OllamaStandin', () => {
  let ollama: OllamaStandin;
  let url: string;

  beforeEach(async () => {
    ollama = new OllamaStandin({ models: ['standin:latest', 'qwen3:8b'] });
    url = (await ollama.start()).url;
  });

  afterEach(async () => {
    await ollama.stop();
  });

  it('answers /api/version, /api/tags and "Ollama is running"', async () => {
    expect(await (await fetch(`${url}/api/version`)).json()).toEqual({ version: '0.12.6' });
    const tags = (await (await fetch(`${url}/api/tags`)).json()) as {
      models: Array<{ name: string; details: object }>;
    };
    expect(tags.models.map((m) => m.name)).toEqual(['standin:latest', 'qwen3:8b']);
    expect(await (await fetch(url)).text()).toBe('Ollama is running');
  });

  it('streams NDJSON lines that parse into the scripted content, ending with done:true and stats', async () => {
    ollama.enqueue({ chunks: ['Hel', 'lo ', 'world'] });
    const r = await chat(url, { model: 'standin', messages: user('hi') });
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/x-ndjson');
    expect(r.text.endsWith('\n')).toBe(true);
    expect(r.lines).toHaveLength(4);
    expect(
      r.lines
        .slice(0, 3)
        .every((l) => l.done === false && l.message?.role === 'assistant' && l.model === 'standin'),
    ).toBe(true);
    expect(r.lines.map((l) => l.message?.content).join('')).toBe('Hello world');
    const last = r.lines[3];
    expect(last).toMatchObject({
      done: true,
      done_reason: 'stop',
      message: { role: 'assistant', content: '' },
    });
    expect(last.total_duration).toBeGreaterThan(0);
    expect(last.eval_count).toBeGreaterThan(0);
    expect(last.prompt_eval_count).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(last.created_at as string))).toBe(false);
  });

  it('echoes the last user message by default; stream:false answers one JSON object', async () => {
    const streamed = await chat(url, {
      model: 'standin:latest',
      messages: [...user('first'), { role: 'assistant', content: 'x' }, ...user('ping 7')],
    });
    expect(streamed.lines.map((l) => l.message?.content).join('')).toBe('ping 7');

    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'standin', messages: user('once'), stream: false }),
    });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toMatchObject({
      model: 'standin',
      message: { role: 'assistant', content: 'once' },
      done: true,
      done_reason: 'stop',
    });
  });

  it('delivers tool calls as message.tool_calls[{function:{name, arguments}}] and records the tools offered', async () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_password',
          description: 'fetch',
          parameters: { type: 'object', properties: { id: { type: 'string' } } },
        },
      },
    ];
    ollama.enqueue({ toolCalls: [{ name: 'get_password', arguments: { id: 'abc' } }] });
    const r = await chat(url, {
      model: 'qwen3:8b',
      messages: user('get it'),
      tools,
      options: { temperature: 0 },
    });
    const withCalls = r.lines.find((l) => l.message?.tool_calls);
    expect(withCalls?.message?.tool_calls).toEqual([
      { function: { name: 'get_password', arguments: { id: 'abc' } } },
    ]);
    expect(r.lines.at(-1)?.done).toBe(true);

    ollama.enqueue({ content: 'calling', toolCalls: [{ name: 'get_password', arguments: { id: 'x' } }] });
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'qwen3:8b', messages: user('again'), tools, stream: false }),
    });
    expect(((await res.json()) as ChatLine).message).toEqual({
      role: 'assistant',
      content: 'calling',
      tool_calls: [{ function: { name: 'get_password', arguments: { id: 'x' } } }],
    });

    expect(ollama.chatRequests.map((c) => [c.model, c.tools?.map((t) => t.function.name), c.stream])).toEqual(
      [
        ['qwen3:8b', ['get_password'], true],
        ['qwen3:8b', ['get_password'], false],
      ],
    );
    expect(ollama.chatRequests[0].options).toEqual({ temperature: 0 });
  });

  it('scripts with a handler function, errors and delays; the queue goes first', async () => {
    ollama.setHandler((req) =>
      req.messages.at(-1)?.content === 'boom'
        ? { error: 'model crashed', status: 503 }
        : { content: `seen ${req.messages.length}` },
    );
    ollama.enqueue({ content: 'queued', delayMs: 50 });
    const t0 = Date.now();
    expect((await chat(url, { model: 'standin', messages: user('a') })).lines[0].message?.content).toBe(
      'queued',
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect((await chat(url, { model: 'standin', messages: user('b') })).lines[0].message?.content).toBe(
      'seen 1',
    );
    const err = await chat(url, { model: 'standin', messages: user('boom') });
    expect(err.status).toBe(503);
    expect(err.lines).toEqual([{ error: 'model crashed' }]);

    ollama.enqueue({ chunks: ['partial'], streamError: 'out of memory' });
    const mid = await chat(url, { model: 'standin', messages: user('x') });
    expect(mid.status).toBe(200);
    expect(mid.lines.at(-1)).toEqual({ error: 'out of memory' });
  });

  it('answers 404 {error} for an unknown model and 400 {error} for a bad body', async () => {
    const unknown = await chat(url, { model: 'llama9', messages: user('x') });
    expect(unknown.status).toBe(404);
    expect(unknown.lines[0].error).toMatch(/model "llama9" not found/);

    for (const body of [
      { messages: user('x') },
      { model: 'standin', messages: 'hi' },
      { model: 'standin', messages: user('x'), stream: 'yes' },
      [1, 2],
    ]) {
      const r = await chat(url, body);
      expect(r.status).toBe(400);
      expect(typeof r.lines[0].error).toBe('string');
    }
    const broken = await fetch(`${url}/api/chat`, { method: 'POST', body: '{"model":' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as ChatLine).error).toBeDefined();
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
    // No messages: the model is only loaded.
    expect((await chat(url, { model: 'standin', stream: false })).lines[0]).toMatchObject({
      done: true,
      done_reason: 'load',
    });
  });

  it('setDown(true) refuses connections, setDown(false) comes back on the same port', async () => {
    const port = new URL(url).port;
    await ollama.setDown(true);
    const err = await fetch(`${url}/api/version`).then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
    expect(err?.cause?.code).toBe('ECONNREFUSED');
    await ollama.setDown(false);
    expect(new URL(ollama.url).port).toBe(port);
    expect((await fetch(`${url}/api/version`)).status).toBe(200);
  });

  it('works with the official ollama npm client (streaming, non-streaming, tools, errors)', async () => {
    const client = new Ollama({ host: url });
    ollama.enqueue({ chunks: ['one ', 'two'] });
    const stream = await client.chat({ model: 'standin:latest', messages: user('hi'), stream: true });
    let text = '';
    let done = false;
    for await (const part of stream) {
      text += part.message.content;
      done = part.done;
    }
    expect(text).toBe('one two');
    expect(done).toBe(true);

    ollama.enqueue({ toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] });
    const res = await client.chat({
      model: 'qwen3:8b',
      messages: user('use a tool'),
      tools: [
        {
          type: 'function',
          function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
        },
      ],
    });
    expect(res.message.tool_calls).toEqual([{ function: { name: 'lookup', arguments: { q: 'x' } } }]);

    const list = await client.list();
    expect(list.models.map((m) => m.name)).toContain('qwen3:8b');
    await expect(client.chat({ model: 'missing', messages: user('x') })).rejects.toThrow(/not found/);
    ollama.enqueue({ chunks: ['a'], streamError: 'boom' });
    const failing = await client.chat({ model: 'standin', messages: user('x'), stream: true });
    await expect(
      (async () => {
        for await (const _part of failing) {
          /* drain */
        }
      })(),
    ).rejects.toThrow('boom');
  });
});
