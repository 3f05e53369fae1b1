// The Talk webhook listens over HTTPS with the operator's (or the local CA's) certificate. Plain HTTP
// only on loopback (tests, a local reverse proxy) or when explicitly declared (TLS ends in front).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, readSecretFile } from '@palisade/config';
import type { HttpListen } from '@palisade/nats';
import type { ChannelsConfig } from './channels.config';

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export function channelsListen(config: ChannelsConfig): HttpListen {
  const listen = { port: config.PALISADE_CHANNELS_PORT, host: config.PALISADE_CHANNELS_HOST, bodyParser: false };
  const certFile = config.PALISADE_CHANNELS_TLS_CERT_FILE;
  const keyFile = config.PALISADE_CHANNELS_TLS_KEY_FILE;
  if (!certFile && !keyFile) {
    if (isLoopback(config.PALISADE_CHANNELS_HOST) || config.PALISADE_CHANNELS_INSECURE_HTTP) return listen;
    throw new ConfigError([
      {
        variable: 'PALISADE_CHANNELS_TLS_CERT_FILE',
        problem: `the webhook listens on ${config.PALISADE_CHANNELS_HOST}, not loopback: give PALISADE_CHANNELS_TLS_CERT_FILE and PALISADE_CHANNELS_TLS_KEY_FILE (or PALISADE_CHANNELS_INSECURE_HTTP=true when TLS ends in front of channels)`,
      },
    ]);
  }
  if (!certFile || !keyFile) {
    throw new ConfigError([{ variable: certFile ? 'PALISADE_CHANNELS_TLS_KEY_FILE' : 'PALISADE_CHANNELS_TLS_CERT_FILE', problem: 'give both the certificate and the key file' }]);
  }
  const key = readSecretFile(keyFile, 'PALISADE_CHANNELS_TLS_KEY_FILE');
  let cert: string;
  try {
    cert = readFileSync(certFile, 'utf8');
    if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
  } catch (error) {
    throw new ConfigError([{ variable: 'PALISADE_CHANNELS_TLS_CERT_FILE', problem: (error as Error).message }]);
  }
  return { ...listen, httpsOptions: { key, cert } };
}
