import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { ConfigError } from '@palisade/config';
import {
  createEvent,
  RpcError,
  senderIdOf,
  type ChannelsSendersListRequest,
  type OperatorActor,
  type SenderLevel,
  type SenderView,
} from '@palisade/contracts';
import { serviceDataSource, EventStore, Projector } from '@palisade/event-log';
import { NATS_CONNECTION, NatsRpcClient, SERVICE_CONFIG } from '@palisade/nats';
import { ChannelRuntime, loadChannels } from './channel-registry';
import type { ChannelsConfig } from './channels.config';
import { OutboxProjection } from './delivery/outbox.projection';
import { ReplyDelivery } from './delivery/reply-delivery';
import { CHANNELS_SCHEMA } from './migrations';
import { foldSender } from './senders/sender-state';
import { SenderProjection } from './senders/sender.projection';
import { TalkIntake } from './webhook/talk-intake';

/** Wires the channels, the webhook intake, the read models and reply delivery around one EVENTS consumer. */
@Injectable()
export class ChannelsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Channels');
  private readonly channels: Map<string, ChannelRuntime>;
  private db!: DataSource;
  private store!: EventStore;
  private projector!: Projector;
  private delivery!: ReplyDelivery;
  private pruneTimer?: NodeJS.Timeout;
  private markReady!: () => void;
  /** RPCs and webhooks can arrive before bootstrap finished (the transport listens first): they wait. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));
  private isReady = false;
  intake!: TalkIntake;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ChannelsConfig,
    @Inject(NatsRpcClient) private readonly rpc: NatsRpcClient,
  ) {
    // Fails start-up (ConfigError naming the entry) on a bad channels file or a group-readable secret.
    try {
      this.channels = loadChannels(config.PALISADE_CHANNELS_FILE);
    } catch (error) {
      this.logger.error(`channels cannot start: ${(error as Error).message}`);
      if (error instanceof ConfigError) process.exitCode = 78; // EX_CONFIG
      throw error;
    }
  }

  get maxBodyBytes(): number {
    return this.config.PALISADE_CHANNELS_MAX_BODY_BYTES;
  }

  talkChannel(name: string): ChannelRuntime | undefined {
    const ch = this.channels.get(name);
    return ch?.kind === 'talk' ? ch : undefined;
  }

  logError(message: string): void {
    this.logger.error(message);
  }

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    this.db = serviceDataSource(c, CHANNELS_SCHEMA);
    await this.db.initialize();
    this.store = new EventStore(this.nc);
    const maxAgeMs = c.PALISADE_CHANNELS_REPLY_MAX_AGE_SECONDS * 1000;
    this.intake = new TalkIntake(
      this.db,
      this.store,
      this.rpc,
      {
        warn: (m) => this.logger.warn(m),
        error: (m) => this.logger.error(m),
        debug: (m) => this.logger.debug(m),
      },
      {
        auditPerMinute: c.PALISADE_CHANNELS_AUDIT_PER_MINUTE,
        replayWindowSeconds: c.PALISADE_CHANNELS_REPLAY_WINDOW_SECONDS,
      },
    );
    this.delivery = new ReplyDelivery(this.db, this.store, this.channels, {
      maxAgeMs,
      probeBaseMs: c.PALISADE_CHANNELS_REPLY_PROBE_SECONDS * 1000,
      log: {
        warn: (m) => this.logger.warn(m),
        error: (m) => this.logger.error(m),
        log: (m) => this.logger.log(m),
      },
    });
    this.projector = new Projector(this.nc, this.db, this.store, {
      name: 'channels',
      durable: 'channels',
      schema: CHANNELS_SCHEMA,
      handlers: [new SenderProjection(), new OutboxProjection((name) => this.channels.has(name), maxAgeMs)],
      log: (m) => this.logger.warn(m),
      onHalt: (error) => this.logger.error(`channels projector halted: ${error.message}`),
      // The delivery reaction rides on the projector: the outbox rows it just committed go out now.
      afterCommit: async (applied) => {
        if (
          applied.some(
            ({ event }) => event.type === 'chat.message.sent' || event.type === 'channel.sender.pending',
          )
        ) {
          this.delivery.kickAll();
        }
      },
    });
    await this.projector.start();
    this.delivery.start();
    this.pruneTimer = setInterval(() => {
      this.intake
        .pruneSeen()
        .catch((error: Error) => this.logger.warn(`replay guard prune failed: ${error.message}`));
    }, 60_000);
    this.pruneTimer.unref();
    this.isReady = true;
    this.markReady();
    this.logger.log(
      `channels ready: ${[...this.channels.keys()].join(', ') || '(none configured)'}; projector at ${this.projector.position}`,
    );
  }

  async listSenders(request: ChannelsSendersListRequest): Promise<SenderView[]> {
    await this.ready;
    const rows: {
      channel: string;
      sender: string;
      sender_name: string | null;
      status: SenderView['status'];
      level: SenderLevel | null;
    }[] = await this.db.query(
      `SELECT channel, sender, sender_name, status, level FROM channels.sender
         WHERE ($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR status = $2)
         ORDER BY channel, updated_at DESC LIMIT 1000`,
      [request.channel ?? null, request.status ?? null],
    );
    return rows.map((r) => ({
      channel: r.channel,
      sender: r.sender,
      ...(r.sender_name ? { senderName: r.sender_name } : {}),
      status: r.status,
      ...(r.level ? { level: r.level } : {}),
    }));
  }

  async decideSender(
    request: { channel: string; sender: string; actor: OperatorActor },
    status: 'admitted' | 'rejected',
    level?: SenderLevel,
  ): Promise<SenderView> {
    if (!this.channels.has(request.channel))
      throw new RpcError('not_found', `no channel ${request.channel} is configured`);
    await this.ready;
    const aggregateId = senderIdOf(request.channel, request.sender);
    const state = foldSender((await this.store.readAggregate('sender', aggregateId)).map((s) => s.event));
    const common = {
      source: 'channels' as const,
      aggregateId,
      actor: { type: request.actor.type, id: request.actor.id },
      trust: 'trusted' as const,
    };
    const data = {
      channel: request.channel,
      sender: request.sender,
      ...(state.senderName ? { senderName: state.senderName } : {}),
    };
    const event =
      status === 'admitted'
        ? createEvent({ ...common, type: 'channel.sender.admitted', data: { ...data, level: level! } })
        : createEvent({ ...common, type: 'channel.sender.rejected', data });
    await this.store.append(event);
    this.logger.log(
      `channel ${request.channel}: sender ${request.sender} ${status}${level ? ` at ${level}` : ''} by ${request.actor.type} ${request.actor.id}`,
    );
    return { ...data, status, ...(level ? { level } : {}) };
  }

  async health(): Promise<Record<string, { ok: boolean; detail?: string }>> {
    if (!this.isReady) return { ready: { ok: false, detail: 'starting' } };
    let database = true;
    try {
      await this.db.query('SELECT 1');
    } catch {
      database = false;
    }
    const halted = this.projector?.halted;
    return {
      postgres: { ok: database },
      projector: halted
        ? { ok: false, detail: halted.message }
        : { ok: true, detail: `at ${this.projector?.position ?? 0}` },
      ...(this.delivery?.health() ?? {}),
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.intake?.drained();
    await this.projector?.stop();
    await this.delivery?.stop();
    await this.db?.destroy().catch(() => undefined);
  }
}
