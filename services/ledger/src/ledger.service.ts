import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { readSecretFile } from '@palisade/config';
import { serviceDataSource, EventStore, Projector } from '@palisade/event-log';
import { NATS_CONNECTION, SERVICE_CONFIG } from '@palisade/nats';
import { ledgerCheckpointStore, LedgerChainProjection } from './chain/ledger-chain.projection';
import { CheckpointSigner, SignedCheckpoint } from './checkpoint/checkpoint.signer';
import { SocFeedPublisher } from './feed/soc-feed.publisher';
import type { LedgerConfig } from './ledger.config';
import { LEDGER_SCHEMA } from './migrations';

/** Wires the chain writer, the SOC feed and the checkpoint signer around one EVENTS consumer. */
@Injectable()
export class LedgerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Ledger');
  private db!: DataSource;
  private projector!: Projector;
  private feed!: SocFeedPublisher;
  private signer!: CheckpointSigner;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const privateKey = createPrivateKey(
      readSecretFile(c.PALISADE_LEDGER_KEY_FILE, 'PALISADE_LEDGER_KEY_FILE'),
    );
    this.db = serviceDataSource(c, LEDGER_SCHEMA);
    await this.db.initialize();
    const store = new EventStore(this.nc);
    const log = (message: string) => this.logger.warn(message);
    this.feed = new SocFeedPublisher(this.nc, this.db, log);
    await this.feed.init();
    this.signer = new CheckpointSigner(
      this.db,
      store,
      this.feed,
      privateKey,
      createPublicKey(privateKey),
      c.PALISADE_LEDGER_CHECKPOINT_EVERY,
    );
    await this.signer.init();
    this.projector = new Projector(this.nc, this.db, store, {
      name: 'ledger',
      durable: 'ledger',
      schema: LEDGER_SCHEMA,
      handlers: [new LedgerChainProjection()],
      checkpointStore: ledgerCheckpointStore,
      log,
      onHalt: (error) => this.logger.error(`ledger halted: ${error.message}`),
      afterCommit: async (applied) => {
        const last = applied[applied.length - 1].seq;
        await this.feed.publishUpTo(last);
        await this.signer.onAppended(last);
      },
    });
    await this.projector.start();
    // Entries committed before a crash but never published go out now.
    void this.feed.publishUpTo(this.projector.position);
    this.timer = setInterval(() => {
      void this.feed.publishUpTo(this.projector.position);
      this.signer.onTimer().catch((error: Error) => log(`checkpoint timer: ${error.message}`));
    }, c.PALISADE_LEDGER_CHECKPOINT_SECONDS * 1000);
    this.logger.log(
      `ledger at ${this.projector.position}, feed at ${this.feed.position}, checkpoint key ${this.signer.keyId}`,
    );
  }

  checkpointNow(): Promise<SignedCheckpoint | undefined> {
    return this.signer.sign();
  }

  async health(): Promise<Record<string, { ok: boolean; detail?: string }>> {
    let database = true;
    try {
      await this.db.query('SELECT 1');
    } catch {
      database = false;
    }
    const halted = this.projector?.halted;
    return {
      postgres: { ok: database },
      chain: halted
        ? { ok: false, detail: halted.message }
        : { ok: true, detail: `at ${this.projector?.position ?? 0}, feed at ${this.feed?.position ?? 0}` },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.projector?.stop();
    await this.db?.destroy().catch(() => undefined);
  }
}
