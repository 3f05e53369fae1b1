import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { Client, Pool } from 'pg';
import { readSecretFile } from '@palisade/config';
import { SERVICE_CONFIG } from '@palisade/nats';
import type { GatewayAuthConfig } from './auth.config';
import { AuthStore, REVOCATION_CHANNEL } from './core/auth.store';

/**
 * The gateway's PostgreSQL access for authentication (its own role, schema `gateway`), and a LISTEN
 * connection that hears every API key revocation — from this replica, another one or the CLI.
 */
@Injectable()
export class AuthDatabase implements OnModuleDestroy {
  private readonly logger = new Logger('AuthDatabase');
  readonly pool: Pool;
  readonly store: AuthStore;
  /** Emits `revoked` with the key id. */
  readonly revocations = new EventEmitter();
  private listener?: Client;
  private closed = false;
  private readonly connection: ConstructorParameters<typeof Client>[0];

  constructor(@Inject(SERVICE_CONFIG) config: GatewayAuthConfig) {
    this.connection = {
      host: config.PALISADE_PG_HOST,
      port: config.PALISADE_PG_PORT,
      database: config.PALISADE_PG_DATABASE,
      user: config.PALISADE_PG_USER,
      password: readSecretFile(config.PALISADE_PG_PASSWORD_FILE, 'PALISADE_PG_PASSWORD_FILE'),
    };
    this.pool = new Pool({ ...this.connection, max: 10, connectionTimeoutMillis: 5_000 });
    this.pool.on('error', (error) => this.logger.warn(`PostgreSQL pool: ${error.message}`));
    this.store = new AuthStore(this.pool);
    void this.listen();
  }

  private async listen(backoff = 200): Promise<void> {
    if (this.closed) return;
    const client = new Client(this.connection);
    client.on('notification', (n) => {
      if (n.channel === REVOCATION_CHANNEL && n.payload) this.revocations.emit('revoked', n.payload);
    });
    const retry = (error: Error) => {
      if (this.closed) return;
      this.logger.warn(`revocation listener: ${error.message}; reconnecting`);
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      // A notification may have been missed while disconnected: tell subscribers to re-check everything.
      setTimeout(() => {
        this.revocations.emit('resync');
        void this.listen(Math.min(backoff * 2, 5_000));
      }, backoff).unref();
    };
    client.on('error', retry);
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
      this.listener = client;
      this.revocations.emit('resync');
    } catch (error) {
      retry(error as Error);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
