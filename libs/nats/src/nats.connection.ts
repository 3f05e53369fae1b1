import { connect, nkeyAuthenticator, NatsConnection } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { inboxPrefixFor } from './permissions.manifest';

export interface NatsConnectOptions {
  /** The principal: a service name, 'soc' or 'admin'. Also selects the inbox prefix. */
  user: string;
  url: string;
  /** The nkey seed itself (never logged). */
  seed: string;
  caFile?: string;
  /** Called for asynchronous server errors such as permission violations (never swallowed). */
  onError?: (error: Error) => void;
  reconnect?: boolean;
}

export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const url = new URL(options.url.replace(/^tls:/, 'nats:'));
  const nc = await connect({
    servers: `${url.hostname}:${url.port}`,
    name: `palisade-${options.user}`,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(options.seed)),
    // A private inbox per principal: the server lets nobody else subscribe there.
    inboxPrefix: inboxPrefixFor(options.user),
    tls: options.url.startsWith('tls:') ? (options.caFile ? { caFile: options.caFile } : {}) : undefined,
    maxReconnectAttempts: options.reconnect === false ? 0 : -1,
    reconnectTimeWait: 500,
    timeout: 5_000,
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && options.onError) options.onError(status.error);
    }
  })();
  return nc;
}

export function readSeed(path: string): string {
  return readFileSync(path, 'utf8').trim();
}
