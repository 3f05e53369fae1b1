// OllamaRepository against the Ollama stand-in over real HTTP (no NATS needed).
import { loadConfig } from '@palisade/config';
import { OllamaStandin } from '@palisade/testing';
import { LlmRouterConfig } from '../llm-router.config';
import { OllamaRepository } from './ollama.repository';

function repoFor(url: string, model: string): OllamaRepository {
  return new OllamaRepository(
    loadConfig(LlmRouterConfig, {
      PALISADE_NATS_URL: 'nats://127.0.0.1:4222',
      PALISADE_NATS_SEED_FILE: '/run/seed',
      PALISADE_OLLAMA_URL: url,
      PALISADE_OLLAMA_MODEL: model,
    }),
  );
}

describe('OllamaRepository against the Ollama stand-in', () => {
  const ollama = new OllamaStandin({ models: ['qwen-standin:8b'] });
  let url: string;

  beforeAll(async () => {
    url = (await ollama.start()).url;
  });
  afterAll(() => ollama.stop());

  it('assembles streamed content and tool calls into one answer', async () => {
    ollama.enqueue({ chunks: ['He', 'llo'], toolCalls: [{ name: 'reply', arguments: { text: 'hi' } }] });
    const answer = await repoFor(url, 'qwen-standin:8b').chat({
      messages: [{ role: 'user', content: 'x' }],
      tools: [],
    });
    expect(answer).toMatchObject({
      content: 'Hello',
      model: 'qwen-standin:8b',
      toolCalls: [{ name: 'reply', arguments: { text: 'hi' } }],
    });
    expect(ollama.chatRequests.at(-1)).toMatchObject({ stream: true, tools: undefined, keep_alive: '5m' });
  });

  it('a model that is not pulled: the call and health both say to pull it or set PALISADE_OLLAMA_MODEL', async () => {
    const repo = repoFor(url, 'missing-model');
    await expect(repo.chat({ messages: [{ role: 'user', content: 'x' }], tools: [] })).rejects.toMatchObject({
      code: 'llm_unavailable',
      message: expect.stringMatching(
        /missing-model is not present.*ollama pull missing-model.*PALISADE_OLLAMA_MODEL/,
      ),
    });
    const health = await repo.health();
    expect(health.ollama.ok).toBe(true);
    expect(health['ollama-model']).toEqual({
      ok: false,
      detail: expect.stringContaining('ollama pull missing-model'),
    });
    expect((await repoFor(url, 'qwen-standin:8b').health())['ollama-model'].ok).toBe(true);
  });
});
