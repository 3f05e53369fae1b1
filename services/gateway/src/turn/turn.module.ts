import { Inject, Injectable, Logger, Module, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventReactor, EventStore } from '@palisade/event-log';
import { NATS_CONNECTION, NatsRpcClient, SERVICE_CONFIG } from '@palisade/nats';
import type { ChatMessageReceivedData } from '@palisade/contracts';
import type { GatewayConfig } from '../gateway.config';
import { AgentStateReader } from './agent-state';
import { ApprovalWaiter } from './approval-waiter';
import { SessionReader } from './session-reader';
import { TurnRunner } from './turn-runner';

/** Channel name of sessions opened through the operator API (the API runs their turns itself). */
export const OPERATOR_CHANNEL = 'operator';

/**
 * Reacts to the log through the gateway's durable consumer: messages and cron firings start turns,
 * approval resolutions wake the turns waiting for them, identity and freeze changes drop the cache.
 */
@Injectable()
export class TurnService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('turns');
  readonly store: EventStore;
  readonly runner: TurnRunner;
  readonly agent: AgentStateReader;
  readonly sessions: SessionReader;
  private readonly waiter: ApprovalWaiter;
  private readonly reactor: EventReactor;

  constructor(
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    @Inject(SERVICE_CONFIG) config: GatewayConfig,
    rpc: NatsRpcClient,
  ) {
    this.store = new EventStore(nc);
    this.sessions = new SessionReader(this.store);
    this.agent = new AgentStateReader(this.store, {
      name: config.PALISADE_AGENT_NAME,
      instructions: config.PALISADE_AGENT_INSTRUCTIONS,
    });
    this.waiter = new ApprovalWaiter(this.store);
    this.runner = new TurnRunner(this.store, rpc, this.sessions, this.agent, this.waiter, {
      maxToolSteps: config.PALISADE_GATEWAY_MAX_TOOL_STEPS,
      defaultCwd: '/workspace',
      llmTimeoutMs: config.PALISADE_GATEWAY_LLM_TIMEOUT_MS,
      sandboxTimeoutMs: config.PALISADE_GATEWAY_SANDBOX_TIMEOUT_MS,
      log: (m) => this.logger.warn(m),
    });
    this.reactor = new EventReactor(nc, {
      durable: 'gateway',
      maxAgeMs: config.PALISADE_GATEWAY_TURN_MAX_AGE_S * 1000,
      log: (m) => this.logger.warn(m),
      handlers: [
        {
          types: ['chat.message.received'],
          handle: async (event) => {
            const data = event.data as ChatMessageReceivedData;
            // Operator API turns are run by the API call itself; cron prompts by the cron path.
            if (data.channel === OPERATOR_CHANNEL || event.actortype === 'system') return;
            void this.runner
              .onMessage(event.subject)
              .catch((e: Error) => this.logger.error(`turn failed: ${e.message}`));
          },
        },
        {
          types: ['cron.job.fired'],
          handle: async (event) => {
            void this.runner
              .onCronFired(event)
              .catch((e: Error) => this.logger.error(`cron turn failed: ${e.message}`));
          },
        },
        { types: ['exec.approval.resolved'], handle: async (event) => this.waiter.resolved(event) },
        {
          types: ['agent.identity.updated', 'agent.frozen', 'agent.thawed'],
          handle: async () => this.agent.invalidate(),
        },
      ],
    });
  }

  onModuleInit(): void {
    this.reactor.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.reactor.stop();
  }

  position(): number {
    return this.reactor.position;
  }
}

@Module({ providers: [TurnService], exports: [TurnService] })
export class TurnModule {}
