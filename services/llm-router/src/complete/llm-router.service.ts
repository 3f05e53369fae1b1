import { Injectable, Logger } from '@nestjs/common';
import type { LlmCompleteReply, LlmCompleteRequest } from '@palisade/contracts';
import { CloudRepository } from '../cloud/cloud.repository';
import { OllamaRepository } from '../local/ollama.repository';
import { decideRoute } from '../routing/route-policy';
import type { ModelAnswer } from './model-answer';

@Injectable()
export class LlmRouterService {
  private readonly logger = new Logger('LlmRouter');

  constructor(
    private readonly local: OllamaRepository,
    private readonly cloud: CloudRepository,
  ) {}

  /** One model call on the route the contracts allow; a failure is reported, never re-routed. */
  async complete(request: LlmCompleteRequest): Promise<LlmCompleteReply> {
    const { route, reason } = decideRoute(request, this.cloud.configured);
    const call = { messages: request.messages, tools: request.tools };
    const started = performance.now();
    // Only ids and the route are logged: never message content.
    const meta = { session: request.session, turn: request.turn, route, reason };
    let answer: ModelAnswer;
    try {
      answer =
        route === 'cloud'
          ? await this.cloud.chat(call, {
              session: request.session,
              turn: request.turn,
              correlationId: request.correlationId,
            })
          : await this.local.chat(call);
    } catch (error) {
      this.logger.warn({ message: 'model call failed', ...meta, error: (error as Error).message });
      throw error;
    }
    const durationMs = Math.round(performance.now() - started);
    this.logger.log({
      message: 'model call',
      ...meta,
      model: answer.model,
      durationMs,
      toolCalls: answer.toolCalls.length,
    });
    return {
      message: { content: answer.content, toolCalls: answer.toolCalls },
      route,
      model: answer.model,
      durationMs,
      reason,
    };
  }

  async health() {
    return { ...(await this.local.health()), cloud: await this.cloud.health() };
  }
}
