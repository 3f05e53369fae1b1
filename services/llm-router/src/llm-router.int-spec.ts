// llm-router and credential-broker as separate processes on the real nats-server; Ollama, the cloud
// provider and Nextcloud Passwords are the protocol stand-ins. The test calls as the gateway would.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  knownSecretVariants,
  LLM_COMPLETE,
  RpcError,
  uuidv7,
  type LlmCompleteReply,
  type LlmCompleteRequest,
  type ToolSpec,
} from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NatsRpcClient } from '@palisade/nats';
import {
  CloudLlmStandin,
  connectAs,
  OllamaStandin,
  PasswordsStandin,
  serviceEnv,
  startServiceProcess,
  waitFor,
  waitHealthy,
  type ServiceProcess,
} from '@palisade/testing';

const AGENT = 'palisade-agent';
const APP_PASSWORD = `${randomBytes(18).toString('base64url')}`;
// A unique high-entropy key with no well-known prefix, so only registration and discipline can hide it.
const CLOUD_KEY = randomBytes(32).toString('base64url');
const ENTRY = '0b6c7f2e-9d41-4c1a-8e3b-5a7d2c9f1e60';

const EXEC: ToolSpec = {
  name: 'exec',
  description: 'Run a shell command in the sandbox',
  parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
};
const REPLY: ToolSpec = {
  name: 'reply',
  description: 'Answer the user',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};

describe('llm-router + credential-broker (real NATS, services as processes)', () => {
  const ollama = new OllamaStandin({ models: ['standin-local:latest'] });
  const cloud = new CloudLlmStandin({ apiKey: CLOUD_KEY });
  const passwords = new PasswordsStandin({
    user: AGENT,
    appPassword: APP_PASSWORD,
    entries: [{ id: ENTRY, label: 'LLM cloud API key', password: CLOUD_KEY }],
  });
  let dir: string;
  let router: ServiceProcess;
  let broker: ServiceProcess;
  let gateway: NatsConnection;
  let admin: NatsConnection;
  let rpc: NatsRpcClient;
  let firstSeq: number;

  const turn = (patch: Partial<LlmCompleteRequest> = {}): LlmCompleteRequest => ({
    session: `ses_${randomBytes(20).toString('hex')}`,
    turn: uuidv7(),
    messages: [
      { role: 'system', content: 'You are Palisade.' },
      { role: 'user', content: 'please run id -u for me' },
    ],
    tools: [EXEC, REPLY],
    trust: 'trusted',
    tainted: false,
    sensitive: false,
    ...patch,
  });
  const complete = (request: LlmCompleteRequest) =>
    rpc.request<LlmCompleteReply>(LLM_COMPLETE, request, { timeoutMs: 20_000 });
  const failure = (request: LlmCompleteRequest) =>
    complete(request).then(
      () => {
        throw new Error('expected the call to fail');
      },
      (error: RpcError) => error,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-llm-int-'));
    const [, , pw] = await Promise.all([ollama.start(), cloud.start(), passwords.start()]);
    const appPasswordFile = join(dir, 'app-password');
    writeFileSync(appPasswordFile, APP_PASSWORD);
    chmodSync(appPasswordFile, 0o600);
    const caFile = join(dir, 'passwords-ca.pem');
    writeFileSync(caFile, pw.caCert!);

    admin = await connectAs('admin');
    gateway = await connectAs('gateway');
    rpc = new NatsRpcClient(gateway, 20_000);
    firstSeq = (await new EventStore(admin).lastSeq()) + 1;

    broker = startServiceProcess(
      'credential-broker',
      serviceEnv('credential-broker', {
        PALISADE_PASSWORDS_URL: pw.url,
        PALISADE_PASSWORDS_USER: AGENT,
        PALISADE_PASSWORDS_APP_PASSWORD_FILE: appPasswordFile,
        PALISADE_PASSWORDS_CA_FILE: caFile,
        PALISADE_BROKER_ENTRIES: `llm-cloud=${ENTRY}`,
      }),
    );
    router = startServiceProcess(
      'llm-router',
      serviceEnv('llm-router', {
        PALISADE_OLLAMA_URL: ollama.url,
        PALISADE_OLLAMA_MODEL: 'standin-local',
        PALISADE_CLOUD_PROVIDER: 'openai',
        PALISADE_CLOUD_URL: cloud.url,
        PALISADE_CLOUD_MODEL: 'gpt-standin',
        PALISADE_CLOUD_CREDENTIAL: 'llm-cloud',
      }),
    );
    await Promise.all([waitHealthy(admin, 'credential-broker'), waitHealthy(admin, 'llm-router')]);
  });

  afterAll(async () => {
    await Promise.all([router?.stop(), broker?.stop()]);
    await Promise.all([gateway?.close(), admin?.close()]);
    await Promise.all([ollama.stop(), cloud.stop(), passwords.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    ollama.clearRecords();
    ollama.resetScript();
    cloud.clearRecords();
    cloud.resetScript();
    passwords.clearRecords();
  });

  test('an untrusted turn goes to the local model; an exec tool call round-trips with its arguments', async () => {
    ollama.enqueue({
      content: 'Let me check.',
      toolCalls: [{ name: 'exec', arguments: { command: 'echo hello && id -u' } }],
    });
    const first = turn({ trust: 'untrusted' });
    const reply = await complete(first);
    expect(reply).toMatchObject({
      route: 'local',
      model: 'standin-local',
      reason: 'local: untrusted sender',
    });
    expect(reply.message.content).toBe('Let me check.');
    expect(reply.message.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'exec', arguments: { command: 'echo hello && id -u' } },
    ]);
    const sent = ollama.chatRequests[0];
    expect(sent.stream).toBe(true);
    expect(sent.tools).toEqual([
      {
        type: 'function',
        function: { name: 'exec', description: EXEC.description, parameters: EXEC.parameters },
      },
      {
        type: 'function',
        function: { name: 'reply', description: REPLY.description, parameters: REPLY.parameters },
      },
    ]);

    // The gateway sends the call and its result back; Ollama sees its own shapes again.
    const call = reply.message.toolCalls[0];
    ollama.enqueue({ chunks: ['hello', '\n1000'] });
    const second = await complete({
      ...first,
      messages: [
        ...first.messages,
        { role: 'assistant', content: reply.message.content, toolCalls: [call] },
        { role: 'tool', content: 'hello\n1000', toolCallId: call.id, toolName: 'exec' },
      ],
    });
    expect(second).toMatchObject({ route: 'local', message: { content: 'hello\n1000', toolCalls: [] } });
    expect(ollama.chatRequests[1].messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ function: { name: 'exec', arguments: { command: 'echo hello && id -u' } } }],
      },
      { role: 'tool', content: 'hello\n1000', tool_name: 'exec' },
    ]);
    expect(cloud.requests).toHaveLength(0);
    expect(passwords.requests).toHaveLength(0);
  });

  test.each([
    ['a tainted trusted turn', { tainted: true }, 'local: session tainted by untrusted content'],
    ['a sensitive trusted turn', { sensitive: true }, 'local: sensitive content in context'],
    [
      'a trusted turn whose context holds a secret',
      {
        messages: [
          {
            role: 'user' as const,
            content: 'deploy with GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
          },
        ],
      },
      'local: secret detected in context',
    ],
  ])('%s stays on the local model', async (_name, patch, reason) => {
    const reply = await complete(turn(patch));
    expect(reply).toMatchObject({ route: 'local', reason });
    expect(ollama.chatRequests).toHaveLength(1);
    expect(cloud.requests).toHaveLength(0);
    expect(passwords.requests).toHaveLength(0);
  });

  test('a trusted clean turn goes to the cloud with the key the broker read from Passwords, and the access is recorded', async () => {
    cloud.enqueue({ toolCalls: [{ id: 'call_cloud1', name: 'exec', arguments: { command: 'uptime' } }] });
    const request = { ...turn(), correlationId: uuidv7() };
    const reply = await complete(request);
    expect(reply).toMatchObject({
      route: 'cloud',
      model: 'gpt-standin',
      reason: 'cloud: trusted, clean turn',
      message: {
        content: '',
        toolCalls: [{ id: 'call_cloud1', name: 'exec', arguments: { command: 'uptime' } }],
      },
    });
    expect(cloud.requests).toHaveLength(1);
    expect(cloud.requests[0]).toMatchObject({ provider: 'openai', keyAccepted: true, status: 200 });
    expect(cloud.requests[0].headers.authorization).toBe(`Bearer ${CLOUD_KEY}`);
    expect(ollama.chatRequests).toHaveLength(0);

    // Exactly one entry, by id, in its own session; never the list.
    expect(passwords.requests.map((r) => r.endpoint)).toEqual([
      'session/request',
      'session/open',
      'password/show',
      'session/close',
    ]);
    expect(passwords.requestsTo('password/show')[0].body).toEqual({ id: ENTRY });
    expect(passwords.requests.every((r) => r.secure && r.authenticated)).toBe(true);

    const accessed = await waitFor('credential.accessed', async () => {
      const events = await new EventStore(admin).readAggregate('credential', ENTRY);
      return events.find((e) => e.event.correlationid === request.correlationId);
    });
    expect(accessed.event).toMatchObject({
      type: 'credential.accessed',
      source: 'palisade/credential-broker',
      subject: ENTRY,
      actortype: 'service',
      actorid: 'llm-router',
      data: {
        entry: ENTRY,
        requester: 'llm-router',
        session: request.session,
        purpose: expect.stringContaining(request.turn),
      },
    });
  });

  test('cloud down for a trusted turn: a clear error, and no silent fallback to the local model', async () => {
    await cloud.setDown(true);
    try {
      const error = await failure(turn());
      expect(error.code).toBe('llm_unavailable');
      expect(error.message).toMatch(
        /cloud model unreachable .*openai at http:\/\/127\.0\.0\.1:\d+.*not sent to the local model/,
      );
      expect(error.message).not.toContain(CLOUD_KEY);
      expect(ollama.chatRequests).toHaveLength(0);
    } finally {
      await cloud.setDown(false);
    }
  });

  test('local model down: an untrusted turn fails closed, names the URL, and nothing reaches the cloud', async () => {
    await ollama.setDown(true);
    try {
      const error = await failure(turn({ trust: 'untrusted' }));
      expect(error.code).toBe('llm_unavailable');
      expect(error.message).toContain(`local model unreachable at ${ollama.url}`);
      expect(error.message).toContain('PALISADE_OLLAMA_URL');
      expect(cloud.requests).toHaveLength(0);
      expect(passwords.requests).toHaveLength(0);
      // Health names the dependency and what to set (its cloud probe is a bare HEAD, no key).
      const health = (await admin.request('health.llm-router', '', { timeout: 10_000 })).json<{
        data: { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
      }>().data;
      expect(health.status).toBe('degraded');
      expect(health.checks.ollama).toEqual({
        ok: false,
        detail: expect.stringContaining('PALISADE_OLLAMA_URL'),
      });
      expect(cloud.requests.filter((r) => r.path !== '/')).toHaveLength(0);
      expect(passwords.requests).toHaveLength(0);
    } finally {
      await ollama.setDown(false);
    }
  });

  test('an answer the local model breaks off mid-stream is an error, not a partial reply', async () => {
    ollama.enqueue({ chunks: ['partial'], streamError: 'model runner crashed' });
    const error = await failure(turn({ trust: 'untrusted' }));
    expect(error).toMatchObject({ code: 'llm_unavailable', message: expect.stringContaining('broke off') });
    expect(error.message).not.toContain('partial');
  });

  test('bad requests are refused with validation errors (unknown fields too)', async () => {
    await expect(complete({ ...turn(), trust: 'root' as never })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(complete({ ...turn(), model: 'gpt-5' } as never)).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  test('the key is nowhere in EVENTS or in either service log (raw, base64, hex)', async () => {
    const forms = knownSecretVariants(CLOUD_KEY);
    expect(forms.length).toBeGreaterThan(3);
    const store = new EventStore(admin);
    const last = await store.lastSeq();
    let scanned = 0;
    for (let seq = firstSeq; seq <= last; seq++) {
      const stored = await store.getBySeq(seq);
      if (!stored) continue;
      scanned++;
      for (const form of forms) expect(stored.raw).not.toContain(form);
    }
    expect(scanned).toBeGreaterThan(0);
    for (const service of [router, broker]) {
      const log = service.output();
      expect(log).toContain('"level"');
      for (const form of [...forms, APP_PASSWORD]) expect(log).not.toContain(form);
    }
  });
});
