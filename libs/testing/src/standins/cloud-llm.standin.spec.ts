import { CloudLlmStandin } from './cloud-llm.standin';

const OPENAI_KEY = 'sk-test-openai-0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-test-0123456789abcdef';

describe('CloudLlmStandin', () => {
  let cloud: CloudLlmStandin;
  let url: string;

  beforeEach(async () => {
    cloud = new CloudLlmStandin({ openaiKey: OPENAI_KEY, anthropicKey: ANTHROPIC_KEY });
    url = (await cloud.start()).url;
  });

  afterEach(async () => {
    await cloud.stop();
  });

  const openai = (body: unknown, key: string | null = OPENAI_KEY) =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(key === null ? {} : { Authorization: `Bearer ${key}` }),
      },
      body: JSON.stringify(body),
    });
  const anthropic = (
    body: unknown,
    headers: Record<string, string> = { 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01' },
  ) =>
    fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  describe('OpenAI-compatible /v1/chat/completions', () => {
    it('rejects a wrong or missing key with 401 and records the key it received', async () => {
      const wrong = await openai(
        { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] },
        'sk-wrong-key-123456',
      );
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({
        error: { type: 'invalid_request_error', code: 'invalid_api_key' },
      });
      expect((await openai({ model: 'gpt-x', messages: [] }, null)).status).toBe(401);
      expect(cloud.requests.map((r) => [r.apiKey, r.keyAccepted, r.status])).toEqual([
        ['sk-wrong-key-123456', false, 401],
        [undefined, false, 401],
      ]);
    });

    it('answers a chat completion (echo by default) with usage, and records which key came', async () => {
      const res = await openai({
        model: 'gpt-x',
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'hello cloud' },
        ],
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        object: string;
        choices: Array<{ message: { role: string; content: string }; finish_reason: string }>;
        usage: { total_tokens: number };
      };
      expect(body.object).toBe('chat.completion');
      expect(body.choices[0]).toMatchObject({
        index: 0,
        message: { role: 'assistant', content: 'hello cloud' },
        finish_reason: 'stop',
      });
      expect(body.usage.total_tokens).toBeGreaterThan(0);
      expect(cloud.requests[0]).toMatchObject({
        provider: 'openai',
        apiKey: OPENAI_KEY,
        keyAccepted: true,
        status: 200,
      });
    });

    it('returns tool calls in OpenAI format (JSON-string arguments, finish_reason tool_calls)', async () => {
      cloud.enqueue({ toolCalls: [{ name: 'search', arguments: { q: 'nextcloud' }, id: 'call_1' }] });
      const res = await openai({
        model: 'gpt-x',
        messages: [{ role: 'user', content: 'find' }],
        tools: [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }],
      });
      const body = (await res.json()) as {
        choices: Array<{ message: { content: string | null; tool_calls: unknown[] }; finish_reason: string }>;
      };
      expect(body.choices[0].finish_reason).toBe('tool_calls');
      expect(body.choices[0].message.content).toBeNull();
      expect(body.choices[0].message.tool_calls).toEqual([
        { id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"nextcloud"}' } },
      ]);
      expect(cloud.requests[0].request?.tools).toHaveLength(1);
    });

    it('streams SSE chunks ending with [DONE] when stream:true', async () => {
      cloud.enqueue({ chunks: ['a', 'b'] });
      const res = await openai({
        model: 'gpt-x',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const events = (await res.text())
        .split('\n\n')
        .filter(Boolean)
        .map((e) => e.replace(/^data: /, ''));
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map(
        (e) =>
          JSON.parse(e) as {
            choices: Array<{ delta: { content?: string }; finish_reason: string | null }>;
            usage?: unknown;
          },
      );
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('ab');
      expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
      expect(chunks.at(-1)?.usage).toBeDefined();
    });

    it('answers 400 to a bad body, scripted errors with their status, 404 for an unknown model when models are set', async () => {
      expect((await openai({ messages: [] })).status).toBe(400);
      expect((await openai({ model: 'gpt-x' })).status).toBe(400);
      const raw = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${OPENAI_KEY}` },
        body: '{oops',
      });
      expect(raw.status).toBe(400);
      cloud.enqueue({ error: 'slow down', status: 429 });
      const limited = await openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] });
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({
        error: { message: 'slow down', code: 'rate_limit_exceeded' },
      });

      const strict = new CloudLlmStandin({ apiKey: OPENAI_KEY, models: ['gpt-known'] });
      const s = await strict.start();
      try {
        const r = await fetch(`${s.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${OPENAI_KEY}` },
          body: JSON.stringify({ model: 'gpt-other', messages: [] }),
        });
        expect(r.status).toBe(404);
      } finally {
        await strict.stop();
      }
    });
  });

  it('goes down (connection refused) and comes back on the same port', async () => {
    await cloud.setDown(true);
    expect(cloud.isDown).toBe(true);
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow();
    await cloud.setDown(false);
    expect(cloud.url).toBe(url);
    expect(
      (await fetch(`${url}/v1/models`, { headers: { Authorization: `Bearer ${OPENAI_KEY}` } })).status,
    ).toBe(200);
  });

  describe('Anthropic-compatible /v1/messages', () => {
    const ok = {
      model: 'claude-x',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'bonjour' }] }],
    };

    it('rejects a wrong key with 401 authentication_error and requires anthropic-version', async () => {
      const wrong = await anthropic(ok, { 'x-api-key': OPENAI_KEY, 'anthropic-version': '2023-06-01' });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error', message: 'invalid x-api-key' },
      });
      const noVersion = await anthropic(ok, { 'x-api-key': ANTHROPIC_KEY });
      expect(noVersion.status).toBe(400);
      expect(await noVersion.json()).toMatchObject({
        error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
      });
      // The OpenAI key does not open the Anthropic endpoint and vice versa.
      expect((await openai({ model: 'x', messages: [] }, ANTHROPIC_KEY)).status).toBe(401);
      expect(cloud.requests.map((r) => [r.provider, r.apiKey, r.status])).toEqual([
        ['anthropic', OPENAI_KEY, 401],
        ['anthropic', ANTHROPIC_KEY, 400],
        ['openai', ANTHROPIC_KEY, 401],
      ]);
    });

    it('answers a message with text content blocks (echo) and usage', async () => {
      const res = await anthropic({ ...ok, system: 'be brief' });
      expect(res.status).toBe(200);
      expect(res.headers.get('request-id')).toMatch(/^req_/);
      expect(await res.json()).toMatchObject({
        type: 'message',
        role: 'assistant',
        model: 'claude-x',
        content: [{ type: 'text', text: 'bonjour' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
      });
      expect(cloud.requests[0]).toMatchObject({
        provider: 'anthropic',
        apiKey: ANTHROPIC_KEY,
        keyAccepted: true,
      });
      expect(cloud.requests[0].request?.system).toBe('be brief');
    });

    it('returns tool_use blocks with stop_reason tool_use', async () => {
      cloud.enqueue({
        content: 'Let me check.',
        toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }],
      });
      const body = (await (await anthropic(ok)).json()) as {
        content: Array<Record<string, unknown>>;
        stop_reason: string;
      };
      expect(body.stop_reason).toBe('tool_use');
      expect(body.content[0]).toEqual({ type: 'text', text: 'Let me check.' });
      expect(body.content[1]).toMatchObject({
        type: 'tool_use',
        name: 'weather',
        input: { city: 'Paris' },
        id: expect.stringMatching(/^toolu_/),
      });
    });

    it('streams the SSE event sequence when stream:true', async () => {
      cloud.enqueue({ chunks: ['he', 'llo'], toolCalls: [{ name: 't', arguments: { a: 1 } }] });
      const text = await (await anthropic({ ...ok, stream: true })).text();
      const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
      expect(names).toEqual([
        'message_start',
        'content_block_start',
        'ping',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'content_block_start',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
      expect(text).toContain('"partial_json":"{\\"a\\":1}"');
      expect(text).toContain('"stop_reason":"tool_use"');
    });

    it('answers 400 for missing fields or bad JSON and the provider error shape for scripted errors', async () => {
      expect((await anthropic({ model: 'claude-x', messages: [] })).status).toBe(400);
      expect((await anthropic({ ...ok, messages: [{ role: 'system', content: 'x' }] })).status).toBe(400);
      const raw = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': ANTHROPIC_KEY, 'anthropic-version': '2023-06-01' },
        body: 'nope',
      });
      expect(raw.status).toBe(400);
      cloud.enqueue({ error: 'Overloaded', status: 529 });
      const over = await anthropic(ok);
      expect(over.status).toBe(529);
      expect(await over.json()).toMatchObject({
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded' },
      });
    });
  });
});
