import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { palisadeHome } from '../paths';

/** Connection facts written by scripts/infra.sh (URLs and ports only; secrets stay in files). */
export function infraEnv(home = palisadeHome()) {
  const file = join(home, 'infra.env');
  const fromProcess = ['PALISADE_NATS_URL', 'PALISADE_PG_HOST', 'PALISADE_PG_PORT', 'PALISADE_PG_DATABASE'].every((k) => !!process.env[k]);
  // Inside a service's container the service's own environment says where everything is.
  if (!existsSync(file) && fromProcess) {
    return {
      natsUrl: process.env.PALISADE_NATS_URL as string,
      natsCaFile: process.env.PALISADE_NATS_CA_FILE || undefined,
      pgHost: process.env.PALISADE_PG_HOST as string,
      pgPort: Number(process.env.PALISADE_PG_PORT),
      pgDatabase: process.env.PALISADE_PG_DATABASE as string,
    };
  }
  if (!existsSync(file)) throw new Error(`${file} not found: start the infrastructure first (sudo bash scripts/infra.sh up)`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return {
    natsUrl: process.env.PALISADE_NATS_URL || env.PALISADE_NATS_URL,
    /** The local CA that signed nats-server's certificate, when NATS runs with TLS (tls:// URL). */
    natsCaFile: process.env.PALISADE_NATS_CA_FILE || env.PALISADE_NATS_CA_FILE || undefined,
    pgHost: process.env.PALISADE_PG_HOST || env.PALISADE_PG_HOST,
    pgPort: Number(process.env.PALISADE_PG_PORT || env.PALISADE_PG_PORT),
    pgDatabase: process.env.PALISADE_PG_DATABASE || env.PALISADE_PG_DATABASE,
  };
}
