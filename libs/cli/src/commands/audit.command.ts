import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { Client } from 'pg';
import { keyIdOf } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { connectNats } from '@palisade/nats';
import { parseArgs } from '../args';
import { CheckpointRecord, verifyLedger } from '../audit/ledger-verifier';
import { infraEnv } from '../infra/infra-env';
import { natsSeedFile, pgPasswordFile, publicKeyFile } from '../paths';

const HELP = `usage: palisade audit <verify|tail|pubkey> [options]
  verify [--checkpoints FILE] [--json]   recompute the ledger chain from PostgreSQL, cross-check it with
                                         EVENTS, verify every signed checkpoint; exit 1 on any divergence
  tail [--replay] [--count N]            follow the SOC feed as the read-only soc user
                                         (--replay: from the soc durable consumer on AUDIT)
  pubkey                                 print the checkpoint public key (PEM) and its key id`;

export async function runAuditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'pubkey': {
      const pem = readFileSync(publicKeyFile('ledger-checkpoint'), 'utf8');
      console.log(pem.trim());
      console.log(`keyid ${keyIdOf(createPublicKey(pem))}`);
      return 0;
    }
    case 'verify': {
      const { flags } = parseArgs(rest, { checkpoints: 'string', json: 'boolean' });
      const env = infraEnv();
      const nc = await connectNats({ user: 'admin', url: env.natsUrl, caFile: env.natsCaFile, seed: readFileSync(natsSeedFile('admin'), 'utf8').trim(), reconnect: false });
      const db = new Client({ host: env.pgHost, port: env.pgPort, database: env.pgDatabase, user: 'palisade_auditor', password: readFileSync(pgPasswordFile('palisade_auditor'), 'utf8').trim() });
      await db.connect();
      try {
        const external: CheckpointRecord[] = flags.checkpoints
          ? readFileSync(String(flags.checkpoints), 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((line) => ({ ...JSON.parse(line), source: String(flags.checkpoints) }))
          : [];
        const report = await verifyLedger({ db, store: new EventStore(nc), publicKey: createPublicKey(readFileSync(publicKeyFile('ledger-checkpoint'), 'utf8')), externalCheckpoints: external });
        if (flags.json) console.log(JSON.stringify(report, null, 2));
        else if (report.ok) {
          console.log(`ledger OK: ${report.entries} entries, head ${report.head?.seq ?? 0} ${report.head?.hash ?? ''}, ${report.checkpointsVerified} checkpoint(s) verified, EVENTS at ${report.eventsInStream}`);
        } else {
          console.log(`ledger DIVERGES at sequence ${report.firstDivergence!.seq}: ${report.firstDivergence!.what}`);
          for (const p of report.problems.slice(1, 20)) console.log(`  also at ${p.seq}: ${p.what}`);
          if (report.problems.length > 20) console.log(`  … ${report.problems.length - 20} more`);
        }
        return report.ok ? 0 : 1;
      } finally {
        await db.end();
        await nc.close();
      }
    }
    case 'tail': {
      const { flags } = parseArgs(rest, { replay: 'boolean', count: 'string' });
      const env = infraEnv();
      const nc = await connectNats({ user: 'soc', url: env.natsUrl, caFile: env.natsCaFile, seed: readFileSync(natsSeedFile('soc'), 'utf8').trim() });
      const limit = flags.count ? Number(flags.count) : Infinity;
      let printed = 0;
      try {
        if (flags.replay) {
          const consumer = await jetstream(nc).consumers.get('AUDIT', 'soc');
          while (printed < limit) {
            const msg = await consumer.next({ expires: 2_000 });
            if (!msg) break;
            console.log(msg.string());
            msg.ack();
            printed++;
          }
        } else {
          for await (const msg of nc.subscribe('audit.>')) {
            console.log(msg.string());
            if (++printed >= limit) break;
          }
        }
        return 0;
      } finally {
        await nc.close();
      }
    }
    default:
      console.log(HELP);
      return sub ? 2 : 0;
  }
}
