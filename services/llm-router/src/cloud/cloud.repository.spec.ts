// The cloud wire formats against the cloud stand-in over real HTTP. The broker is stubbed at the
// NatsRpcClient boundary (its own behaviour is covered by credential-broker's integration test).
import { loadConfig } from '@palisade/config';
import { BROKER_FETCH, RpcError, type BrokerFetchRequest } from '@palisade/contracts';
import type { NatsRpcClient } from '@palisade/nats';
import { CloudLlmStandin } from '@palisade/testing';
import { LlmRouterConfig } from '../llm-router.config';
import { CloudRepository } from './cloud.repository';

const KEY = 'anthropic-standin-key-0123456789';

describe('CloudRepository (Anthropic) against the cloud stand-in', () => {
  const cloud = new CloudLlmStandin({ anthropicKey: KEY });
  const asked: Array<{ subject: string; request: BrokerFetchRequest }> = [];
  let brokerAnswer: () => Promise<unknown> = async () => ({ value: KEY, entry: 'e' });
  let repo: CloudRepository;

  beforeAll(async () => {
    const { url } = await cloud.start();
    const config = loadConfig(LlmRouterConfig, {
      PALISADE_NATS_URL: 'nats://127.0.0.1:4222',
      PALISADE_NATS_SEED_FILE: '/run/seed',
      PALISADE_OLLAMA_MODEL: 'm',
      PALISADE_CLOUD_PROVIDER: 'anthropic',
      PALISADE_CLOUD_URL: url,
      PALISADE_CLOUD_MODEL: 'claude-standin',
      PALISADE_CLOUD_CREDENTIAL: 'llm-cloud',
      PALISADE_CLOUD_MAX_TOKENS: '256',
    });
    const rpc = {
      request: async (subject: string, request: BrokerFetchRequest) => {
        asked.push({ subject, request });
        return brokerAnswer();
      },
    } as unknown as NatsRpcClient;
    repo = new CloudRepository(config, rpc);
  });

  afterAll(() => cloud.stop());

  it('sends x-api-key, anthropic-version, max_tokens and tools, and maps tool_use back', async () => {
    cloud.enqueue({
      content: 'Checking.',
      toolCalls: [{ id: 'toolu_1', name: 'exec', arguments: { command: 'df -h' } }],
    });
    const answer = await repo.chat(
      {
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: 'disk?' },
        ],
        tools: [{ name: 'exec', description: 'run', parameters: { type: 'object' } }],
      },
      { session: 'ses_1', turn: 't1' },
    );
    expect(answer).toEqual({
      content: 'Checking.',
      toolCalls: [{ id: 'toolu_1', name: 'exec', arguments: { command: 'df -h' } }],
      model: 'claude-standin',
    });
    expect(asked[0]).toEqual({
      subject: BROKER_FETCH,
      request: { name: 'llm-cloud', purpose: expect.stringContaining('t1'), session: 'ses_1' },
    });
    const seen = cloud.requests[0];
    expect(seen).toMatchObject({ provider: 'anthropic', keyAccepted: true, status: 200 });
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.request?.raw).toMatchObject({
      max_tokens: 256,
      system: 'sys',
      tools: [{ name: 'exec', input_schema: { type: 'object' } }],
    });
  });

  it('a refused key is an llm_unavailable error that names the credential, not the key', async () => {
    brokerAnswer = async () => ({ value: 'wrong-key-wrong-key', entry: 'e' });
    const error = await repo
      .chat({ messages: [{ role: 'user', content: 'x' }], tools: [] }, { session: 's', turn: 't' })
      .catch((e: RpcError) => e);
    expect(error).toMatchObject({ code: 'llm_unavailable', message: expect.stringContaining('HTTP 401') });
    expect((error as Error).message).toContain('"llm-cloud"');
    expect((error as Error).message).not.toContain('wrong-key');
  });

  it('a broker refusal keeps its code and says the turn was not re-routed', async () => {
    brokerAnswer = async () => {
      throw new RpcError('credential_revoked', 'Passwords said 401');
    };
    await expect(
      repo.chat({ messages: [{ role: 'user', content: 'x' }], tools: [] }, { session: 's', turn: 't' }),
    ).rejects.toMatchObject({
      code: 'credential_revoked',
      message: expect.stringMatching(/Passwords said 401.*not sent to the local model/),
    });
  });
});
