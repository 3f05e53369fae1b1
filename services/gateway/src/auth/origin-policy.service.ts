import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONFIG } from '@palisade/nats';
import { listOf } from './auth.config';
import type { GatewayConfig } from '../gateway.config';
import { wantedSans } from '../http/gateway-tls';

/**
 * Browser origin checks (CSRF for cookie-authenticated state changes, CSWSH for WebSocket upgrades).
 * An Origin passes if it is one of the configured public origins, or if it equals the request's own
 * scheme://Host *and* that Host is one of the gateway's names — the second condition stops DNS
 * rebinding, where an attacker's name resolves to the gateway and Origin and Host agree.
 */
@Injectable()
export class OriginPolicy {
  private readonly publicOrigins: Set<string>;
  private readonly knownHosts: Set<string>;
  private readonly scheme: 'http' | 'https';

  constructor(@Inject(SERVICE_CONFIG) config: GatewayConfig) {
    this.publicOrigins = new Set(
      listOf(config.PALISADE_GATEWAY_PUBLIC_ORIGINS).map((o) => normaliseOrigin(o) ?? o),
    );
    this.scheme = config.PALISADE_GATEWAY_INSECURE_HTTP ? 'http' : 'https';
    this.knownHosts = new Set(
      [...wantedSans(config), ...[...this.publicOrigins].map((o) => new URL(o).hostname)].map((h) =>
        bareHost(h),
      ),
    );
  }

  allows(origin: string | undefined, host: string | undefined): boolean {
    if (!origin) return false;
    const normalised = normaliseOrigin(origin);
    if (!normalised) return false;
    if (this.publicOrigins.has(normalised)) return true;
    if (!host) return false;
    const own = normaliseOrigin(`${this.scheme}://${host}`);
    if (!own || own !== normalised) return false;
    return this.knownHosts.has(bareHost(new URL(own).hostname));
  }
}

function bareHost(h: string): string {
  return h.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/** scheme://host[:port] in canonical form (lower case, default port dropped), or undefined. */
export function normaliseOrigin(value: string): string | undefined {
  if (value === 'null' || value.length > 2048) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    if (
      url.username ||
      url.password ||
      (url.pathname !== '/' && url.pathname !== '') ||
      url.search ||
      url.hash
    )
      return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
