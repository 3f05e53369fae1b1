// The local model: Ollama's native /api/chat through the official client, streamed (NDJSON) and
// assembled here. Failures become llm_unavailable naming the URL; there is no other route to try.
import { Inject, Injectable } from '@nestjs/common';
import { Ollama, type ToolCall as OllamaToolCall } from 'ollama';
import { RpcError } from '@palisade/contracts';
import { SERVICE_CONFIG } from '@palisade/nats';
import type { LlmRouterConfig } from '../llm-router.config';
import { llmUnavailable, networkCause, type ModelAnswer, type ModelCall } from '../complete/model-answer';
import { fromOllamaToolCalls, toOllamaMessages, toOllamaTools } from './ollama.format';

const HEALTH_TIMEOUT_MS = 3_000;

export interface HealthCheck {
  ok: boolean;
  detail?: string;
}

/** Node's fetch with a deadline added to whatever signal the client passes. */
function fetchWithDeadline(deadline: AbortSignal): typeof fetch {
  return (input, init) =>
    fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
}

@Injectable()
export class OllamaRepository {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: LlmRouterConfig) {}

  get url(): string {
    return this.config.PALISADE_OLLAMA_URL;
  }

  get model(): string {
    return this.config.PALISADE_OLLAMA_MODEL;
  }

  private client(timeoutMs: number): Ollama {
    return new Ollama({ host: this.url, fetch: fetchWithDeadline(AbortSignal.timeout(timeoutMs)) });
  }

  async chat(call: ModelCall): Promise<ModelAnswer> {
    let content = '';
    const calls: OllamaToolCall[] = [];
    let model = this.model;
    try {
      const stream = await this.client(this.config.PALISADE_OLLAMA_TIMEOUT_MS).chat({
        model: this.model,
        messages: toOllamaMessages(call.messages),
        tools: call.tools.length ? toOllamaTools(call.tools) : undefined,
        stream: true,
        keep_alive: this.config.PALISADE_OLLAMA_KEEP_ALIVE,
      });
      for await (const part of stream) {
        content += part.message?.content ?? '';
        if (part.message?.tool_calls?.length) calls.push(...part.message.tool_calls);
        if (part.model) model = part.model;
      }
    } catch (error) {
      throw this.failure(error);
    }
    return { content, toolCalls: fromOllamaToolCalls(calls), model };
  }

  private failure(error: unknown): RpcError {
    if (error instanceof RpcError) return error;
    const status = (error as { status_code?: number }).status_code;
    if (status === 404) {
      return llmUnavailable(
        `local model ${this.model} is not present on Ollama at ${this.url}: run "ollama pull ${this.model}" or set PALISADE_OLLAMA_MODEL`,
      );
    }
    if (status !== undefined) {
      return llmUnavailable(
        `local model at ${this.url} failed the call (HTTP ${status}); the turn was not sent elsewhere`,
      );
    }
    if (
      error instanceof TypeError ||
      (error as Error)?.name === 'TimeoutError' ||
      (error as Error)?.name === 'AbortError'
    ) {
      return llmUnavailable(
        `local model unreachable at ${this.url} (${networkCause(error)}): start Ollama or set PALISADE_OLLAMA_URL; the turn was not sent elsewhere`,
      );
    }
    // Mid-stream error line or a stream that ended without done:true.
    return llmUnavailable(`local model at ${this.url} broke off the answer; the turn was not sent elsewhere`);
  }

  /** Reachability and model presence, each with what to set when it fails. */
  async health(): Promise<Record<string, HealthCheck>> {
    let tags: { models: { name: string; model: string }[] };
    try {
      tags = await this.client(HEALTH_TIMEOUT_MS).list();
    } catch (error) {
      const detail = `unreachable at ${this.url} (${networkCause(error)}): start Ollama or set PALISADE_OLLAMA_URL`;
      return {
        ollama: { ok: false, detail },
        'ollama-model': { ok: false, detail: 'unknown: Ollama unreachable' },
      };
    }
    const wanted = this.model.includes(':') ? this.model : `${this.model}:latest`;
    const present = tags.models.some((m) => m.name === wanted || m.model === wanted || m.name === this.model);
    return {
      ollama: { ok: true, detail: this.url },
      'ollama-model': present
        ? { ok: true, detail: this.model }
        : {
            ok: false,
            detail: `model ${this.model} not present at ${this.url}: run "ollama pull ${this.model}" or set PALISADE_OLLAMA_MODEL`,
          },
    };
  }
}
