import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectNats, NATS_PRINCIPALS, renderNatsServerConfig } from '@palisade/nats';
import { parseArgs } from '../args';
import { pgPassword, setupDatabase } from '../infra/database-setup';
import { runSchemaMigrations } from '@palisade/event-log';
import type { MigrationInterface } from 'typeorm';
import { LEDGER_MIGRATIONS, LEDGER_SCHEMA } from '../../../../services/ledger/src/migrations';
import { APPROVALS_MIGRATIONS, APPROVALS_SCHEMA } from '../../../../services/approvals/src/migrations';
import { CRON_MIGRATIONS, CRON_SCHEMA } from '../../../../services/cron/src/migrations';
import { CHANNELS_MIGRATIONS, CHANNELS_SCHEMA } from '../../../../services/channels/src/migrations';
import { GATEWAY_MIGRATIONS, GATEWAY_SCHEMA } from '../../../../services/gateway/src/migrations';
import { setupStreams } from '../infra/nats-setup';
import { ensureSecrets, publicNkeyOf } from '../infra/secrets';
import { natsSeedFile, palisadeHome } from '../paths';
import { ensureLocalCa, issueServerCertificate } from '@palisade/tls';

const splitList = (value: string | boolean | undefined): string[] =>
  typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
import { readFileSync } from 'node:fs';

const HELP = `usage: palisade infra <secrets|nats-config|setup> [options]
  secrets                       create missing secrets under $PALISADE_HOME/secrets (mode 600)
  nats-config --port P [--host H] [--monitor-port M] [--store DIR] [--out FILE] [--tls] [--tls-sans a,b]
                                render the nats-server config from the permission manifest;
                                --tls: clients must use TLS, with a certificate from the local CA
                                ($PALISADE_HOME/tls) for loopback, the listen address and --tls-sans
  tls-cert NAME --sans a,b      issue (or keep, while fresh) NAME.crt/NAME.key from the local CA, e.g. for
                                channels: PALISADE_CHANNELS_TLS_CERT_FILE/KEY_FILE
  setup --nats URL --pg-host H --pg-port P [--pg-database D] [--replicas N]
                                create streams, durable consumers, database roles and schemas`;

export async function runInfraCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const home = palisadeHome();
  switch (sub) {
    case 'secrets': {
      const created = ensureSecrets(home);
      console.log(created.length ? `created secrets: ${created.join(', ')}` : 'secrets already present');
      return 0;
    }
    case 'nats-config': {
      const { flags } = parseArgs(rest, { port: 'string', host: 'string', 'monitor-port': 'string', store: 'string', out: 'string', tls: 'boolean', 'tls-sans': 'string' });
      if (!flags.port) throw new Error('--port is required');
      const host = String(flags.host ?? '127.0.0.1');
      let tls: { certFile: string; keyFile: string } | undefined;
      if (flags.tls) {
        const sans = ['localhost', '127.0.0.1', ...(host === '0.0.0.0' ? [] : [host]), ...splitList(flags['tls-sans'])];
        const cert = issueServerCertificate(ensureLocalCa(join(home, 'tls')), 'nats', sans);
        tls = { certFile: cert.certPath, keyFile: cert.keyPath };
      }
      const nkeys = Object.fromEntries(NATS_PRINCIPALS.map((user) => [user, publicNkeyOf(user, home)]));
      const config = renderNatsServerConfig({
        host,
        port: Number(flags.port),
        monitorPort: flags['monitor-port'] ? Number(flags['monitor-port']) : undefined,
        storeDir: String(flags.store ?? join(home, 'nats', 'jetstream')),
        nkeys,
        tls,
      });
      const out = String(flags.out ?? join(home, 'nats', 'nats.conf'));
      mkdirSync(join(out, '..'), { recursive: true });
      writeFileSync(out, config, { mode: 0o600 });
      console.log(`wrote ${out}`);
      return 0;
    }
    case 'tls-cert': {
      const { flags, positional } = parseArgs(rest, { sans: 'string' });
      if (!positional[0]) throw new Error('name the certificate, e.g. channels');
      const cert = issueServerCertificate(ensureLocalCa(join(home, 'tls')), positional[0], splitList(flags.sans));
      console.log(`certificate ${cert.certPath}\nkey         ${cert.keyPath}\nCA          ${cert.caCertPath} (give it to clients)\nvalid until ${cert.notAfter.toISOString()}`);
      return 0;
    }
    case 'setup': {
      const { flags } = parseArgs(rest, { nats: 'string', 'pg-host': 'string', 'pg-port': 'string', 'pg-database': 'string', replicas: 'string' });
      if (!flags.nats || !flags['pg-host'] || !flags['pg-port']) throw new Error('--nats, --pg-host and --pg-port are required');
      const nc = await connectNats({ user: 'admin', url: String(flags.nats), caFile: process.env.PALISADE_NATS_CA_FILE || undefined, seed: readFileSync(natsSeedFile('admin', home), 'utf8').trim(), reconnect: false });
      try {
        for (const line of await setupStreams(nc, Number(flags.replicas ?? 1))) console.log(line);
      } finally {
        await nc.close();
      }
      const target = { host: String(flags['pg-host']), port: Number(flags['pg-port']), database: String(flags['pg-database'] ?? 'palisade') };
      for (const line of await setupDatabase(target)) console.log(line);
      // Each service's migrations, applied as palisade_owner (services themselves have no DDL rights).
      const superuser = { ...target, password: pgPassword('postgres') };
      const all: [string, (new () => MigrationInterface)[]][] = [
        [LEDGER_SCHEMA, LEDGER_MIGRATIONS],
        [APPROVALS_SCHEMA, APPROVALS_MIGRATIONS],
        [CRON_SCHEMA, CRON_MIGRATIONS],
        [CHANNELS_SCHEMA, CHANNELS_MIGRATIONS],
        [GATEWAY_SCHEMA, GATEWAY_MIGRATIONS],
      ];
      for (const [schema, migrations] of all) {
        const applied = await runSchemaMigrations(superuser, schema, [...migrations]);
        console.log(`migrations ${schema}: ${applied.length ? applied.join(', ') : 'up to date'}`);
      }
      return 0;
    }
    default:
      console.log(HELP);
      return sub ? 2 : 0;
  }
}
