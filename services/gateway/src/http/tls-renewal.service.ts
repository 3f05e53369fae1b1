import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { statSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { SERVICE_CONFIG } from '@palisade/nats';
import type { GatewayConfig } from '../gateway.config';
import { loadTlsMaterial, type TlsMaterial } from './gateway-tls';

const CHECK_EVERY_MS = 6 * 3600_000;

/**
 * Keeps the running HTTPS server's certificate fresh without a restart: the generated one is renewed
 * before it expires, and operator-supplied files are reloaded when they change.
 */
@Injectable()
export class TlsRenewal implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TlsRenewal');
  private timer?: NodeJS.Timeout;
  private current?: TlsMaterial;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.PALISADE_GATEWAY_INSECURE_HTTP) return;
    this.current = loadTlsMaterial(this.config);
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get notAfter(): Date | undefined {
    return this.current?.notAfter;
  }

  /** Renews or reloads if due (as of `now`); true if the server got a new certificate. */
  check(now = new Date()): boolean {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as HttpsServer | undefined;
    if (!server || typeof server.setSecureContext !== 'function' || !this.current) return false;
    try {
      const before = this.current;
      const changedFiles =
        before.source === 'operator' &&
        [this.config.PALISADE_GATEWAY_TLS_CERT_FILE!, this.config.PALISADE_GATEWAY_TLS_KEY_FILE!].some(
          (f, i) => statSync(f).mtimeMs !== before.mtimes![i],
        );
      const due =
        before.source === 'local-ca' &&
        before.notAfter.getTime() - now.getTime() < this.config.PALISADE_GATEWAY_TLS_RENEW_DAYS * 86_400_000;
      if (!changedFiles && !due) return false;
      const next = loadTlsMaterial(this.config, now);
      if (next.cert === before.cert && next.key === before.key) return false;
      server.setSecureContext({ key: next.key, cert: next.cert });
      this.current = next;
      this.logger.log(
        `TLS certificate ${before.source === 'operator' ? 'reloaded' : 'renewed'}; valid until ${next.notAfter.toISOString()}`,
      );
      return true;
    } catch (error) {
      this.logger.error(`TLS renewal failed (the current certificate stays): ${(error as Error).message}`);
      return false;
    }
  }
}
