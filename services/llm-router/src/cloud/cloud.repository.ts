// The cloud model (OpenAI-compatible or Anthropic), called with fetch. The API key is asked from
// credential-broker for each call, used for that one request and dropped: never cached, never logged.
import { Inject, Injectable } from '@nestjs/common';
import {
  BROKER_FETCH,
  RpcError,
  RpcErrorCode,
  type BrokerFetchReply,
  type BrokerFetchRequest,
} from '@palisade/contracts';
import { NatsRpcClient, SERVICE_CONFIG } from '@palisade/nats';
import type { LlmRouterConfig } from '../llm-router.config';
import { llmUnavailable, networkCause, type ModelAnswer, type ModelCall } from '../complete/model-answer';
import type { HealthCheck } from '../local/ollama.repository';
import { fromAnthropicReply, toAnthropicBody } from './anthropic.format';
import { fromOpenAiReply, toOpenAiBody } from './openai.format';
import { withMaskedSecret } from './secret-scope';

const ANTHROPIC_VERSION = '2023-06-01';
const HEALTH_TIMEOUT_MS = 3_000;

export interface CloudCallContext {
  session: string;
  turn: string;
  correlationId?: string;
}

@Injectable()
export class CloudRepository {
  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: LlmRouterConfig,
    private readonly rpc: NatsRpcClient,
  ) {}

  get configured(): boolean {
    return this.config.PALISADE_CLOUD_PROVIDER !== 'none';
  }

  get model(): string {
    return this.config.PALISADE_CLOUD_MODEL;
  }

  private get label(): string {
    return `${this.config.PALISADE_CLOUD_PROVIDER} at ${this.config.PALISADE_CLOUD_URL}`;
  }

  private endpoint(path: string): string {
    return this.config.PALISADE_CLOUD_URL.replace(/\/+$/, '') + path;
  }

  async chat(call: ModelCall, context: CloudCallContext): Promise<ModelAnswer> {
    const key = await this.fetchKey(context);
    return withMaskedSecret(key.value, () => this.send(call, key.value));
  }

  private async fetchKey(context: CloudCallContext): Promise<BrokerFetchReply> {
    const request: BrokerFetchRequest = {
      name: this.config.PALISADE_CLOUD_CREDENTIAL,
      purpose: `cloud completion (${this.config.PALISADE_CLOUD_PROVIDER}) for turn ${context.turn}`,
      session: context.session,
      ...(context.correlationId ? { correlationId: context.correlationId } : {}),
    };
    try {
      return await this.rpc.request<BrokerFetchReply>(BROKER_FETCH, request);
    } catch (error) {
      const e = RpcError.from(error);
      // The broker's own code (credential_revoked, forbidden, …) tells the operator what to fix.
      throw new RpcError(
        e.code === RpcErrorCode.Internal ? RpcErrorCode.LlmUnavailable : e.code,
        `cloud API key "${this.config.PALISADE_CLOUD_CREDENTIAL}" unavailable from credential-broker (${e.message}); the trusted turn was not sent to the local model instead`,
      );
    }
  }

  private async send(call: ModelCall, apiKey: string): Promise<ModelAnswer> {
    const anthropic = this.config.PALISADE_CLOUD_PROVIDER === 'anthropic';
    const url = this.endpoint(anthropic ? '/v1/messages' : '/v1/chat/completions');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (anthropic) {
      headers['x-api-key'] = apiKey;
      headers['anthropic-version'] = ANTHROPIC_VERSION;
    } else {
      headers.authorization = `Bearer ${apiKey}`;
    }
    const body = anthropic
      ? toAnthropicBody(this.model, this.config.PALISADE_CLOUD_MAX_TOKENS, call.messages, call.tools)
      : toOpenAiBody(this.model, call.messages, call.tools);
    let response: Response;
    let payload: unknown;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.PALISADE_CLOUD_TIMEOUT_MS),
      });
      payload = await response.json().catch(() => undefined);
    } catch (error) {
      throw llmUnavailable(
        `cloud model unreachable (${this.label}: ${networkCause(error)}); the trusted turn was not sent to the local model instead — fix PALISADE_CLOUD_URL or set PALISADE_CLOUD_PROVIDER=none`,
      );
    }
    if (!response.ok) throw this.httpFailure(response.status, payload);
    return anthropic ? fromAnthropicReply(payload, this.model) : fromOpenAiReply(payload, this.model);
  }

  /** Status and the provider's error type only: provider messages may quote part of the key. */
  private httpFailure(status: number, payload: unknown): RpcError {
    if (status === 401 || status === 403) {
      return llmUnavailable(
        `cloud model (${this.label}) refused the API key from credential "${this.config.PALISADE_CLOUD_CREDENTIAL}" (HTTP ${status}): update that Passwords entry`,
      );
    }
    const error = (payload as { error?: { type?: unknown; code?: unknown } })?.error;
    const kind = [error?.type, error?.code]
      .filter((v) => typeof v === 'string' && /^[\w.-]{1,64}$/.test(v))
      .join('/');
    return llmUnavailable(
      `cloud model (${this.label}) failed the call (HTTP ${status}${kind ? ` ${kind}` : ''}); the trusted turn was not sent to the local model instead`,
    );
  }

  /** Configuration and reachability (no key is fetched: health must not touch a secret). */
  async health(): Promise<HealthCheck> {
    if (!this.configured) {
      return {
        ok: true,
        detail:
          'not configured: every turn uses the local model (set PALISADE_CLOUD_PROVIDER, PALISADE_CLOUD_URL, PALISADE_CLOUD_MODEL and PALISADE_CLOUD_CREDENTIAL to enable)',
      };
    }
    try {
      await fetch(this.config.PALISADE_CLOUD_URL, {
        method: 'HEAD',
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      return {
        ok: true,
        detail: `${this.label}, model ${this.model}, key from credential "${this.config.PALISADE_CLOUD_CREDENTIAL}"`,
      };
    } catch (error) {
      return {
        ok: false,
        detail: `${this.label} unreachable (${networkCause(error)}): fix PALISADE_CLOUD_URL or set PALISADE_CLOUD_PROVIDER=none`,
      };
    }
  }
}
