import { Inject, Injectable, Logger, Module, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Delivery, EventReactor, EventStore } from '@palisade/event-log';
import { NATS_CONNECTION, NatsRpcClient, SERVICE_CONFIG } from '@palisade/nats';
import type { ChatMessageReceivedData } from '@palisade/contracts';
import type { GatewayConfig } from '../gateway.config';
import { AgentStateReader } from './agent-state';
import { ApprovalWaiter } from './approval-waiter';
import { SessionReader } from './session-reader';
import { type TurnOutcome, TurnRunner } from './turn-runner';

/** In-progress heartbeat while a turn runs (the durable's ack wait is 30 s). */
const HEARTBEAT_MS = 10_000;
const RETRY_DELAY_MS = 1_000;
const MAX_DELIVERIES = 10;

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
          deferAck: true,
          handle: async (event, _seq, delivery) => {
            const data = event.data as ChatMessageReceivedData;
            // Operator API turns are run by the API call itself; cron prompts by the cron path.
            if (data.channel === OPERATOR_CHANNEL || event.actortype === 'system') return delivery!.ack();
            this.settleWhenDone(delivery!, 'turn', () =>
              this.runner.onMessage(event.subject, { redelivered: delivery!.deliveryCount > 1 }),
            );
          },
        },
        {
          types: ['cron.job.fired'],
          deferAck: true,
          handle: async (event, _seq, delivery) => {
            this.settleWhenDone(delivery!, 'cron turn', () =>
              this.runner.onCronFired(event, { redelivered: delivery!.deliveryCount > 1 }),
            );
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

  /**
   * Delivery guarantee of turns: the message stays unacknowledged (kept alive with in-progress
   * heartbeats) until its turn has a recorded end — completed, failed with a notice to the user, or
   * found not owed. If the gateway dies first, JetStream redelivers the message after the consumer's
   * ack wait and the next gateway takes the turn over (TurnRunner.decideTurn). A failure before the
   * turn was claimed (e.g. NATS unreachable) hands the message back for a later retry.
   */
  private settleWhenDone(delivery: Delivery, what: string, work: () => Promise<TurnOutcome>): void {
    const stop = delivery.keepAlive(HEARTBEAT_MS);
    void work()
      .then(
        () => delivery.ack(),
        (e: Error) => {
          if (delivery.deliveryCount >= MAX_DELIVERIES) {
            this.logger.error(`${what} failed ${delivery.deliveryCount} times, giving up: ${e.message}`);
            delivery.ack();
          } else {
            this.logger.warn(`${what} not started (delivery ${delivery.deliveryCount}), retrying: ${e.message}`);
            delivery.nak(RETRY_DELAY_MS);
          }
        },
      )
      .finally(stop);
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
