// Event-log throughput and latency against the real infrastructure (scripts/infra.sh up):
//   lib-1w / lib-8w   EventStore.append of valid chat.message.received events as `channels` on EVENTS,
//                     one writer, then 8 concurrent writers (appends/s, p50/p99 per append)
//   raw-1w / raw-8w   the same number of plain js.publish calls, same bodies, on a scratch stream (admin)
//   ledger lag        last append → PostgreSQL ledger.ledger max(ledger_seq) reaches its sequence
//   soc feed          append → its audit record received by `soc` on audit.> (sequential)
// Every event appended to EVENTS stays forever: keep the counts modest.
// Run: npm run build && node dist/bench/event-log.bench.js [--single 2000] [--per-writer 500] [--writers 8] [--soc 200]
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { Client } from 'pg';
import { createEvent, PalisadeEvent, uuidv7 } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import {
  connectAs,
  infraFacts,
  keyFileOf,
  pgPasswordFileOf,
  serviceEnv,
  waitFor,
  waitHealthy,
} from '@palisade/testing';

// Compiled to dist/bench/: the repository is two levels up. libs/testing's repoRoot() assumes it runs from
// source (libs/testing/src), which from dist/ resolves to dist/ itself — so PALISADE_HOME and the ledger
// entry point are set from here.
const REPO = join(__dirname, '..', '..');
process.env.PALISADE_HOME ||= join(REPO, '.palisade');

/** startServiceProcess, but with the entry point resolved from the compiled bench's location. */
function startLedger(): { stop: () => Promise<void> } {
  const entry = join(REPO, 'dist', 'services', 'ledger', 'src', 'main.js');
  const env = serviceEnv('ledger', { PALISADE_LEDGER_KEY_FILE: keyFileOf('ledger-checkpoint') });
  const child = spawn(process.execPath, ['--enable-source-maps', entry], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? Number(process.argv[at + 1]) : fallback;
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

interface Row {
  name: string;
  count: number;
  perSecond?: number;
  p50: number;
  p99: number;
  max: number;
}

function row(name: string, samples: number[], elapsedMs?: number): Row {
  const sorted = [...samples].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 100) / 100;
  return {
    name,
    count: samples.length,
    perSecond: elapsedMs ? Math.round((samples.length / elapsedMs) * 1000) : undefined,
    p50: r(percentile(sorted, 50)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted[sorted.length - 1]),
  };
}

const chat = (text: string): PalisadeEvent =>
  createEvent({
    type: 'chat.message.received',
    source: 'channels',
    aggregateId: uuidv7(),
    data: { channel: 'talk-bench', conversation: 'bench', sender: 'bench', messageId: uuidv7(), text, level: 'execute' },
    actor: { type: 'sender', id: 'bench' },
    trust: 'untrusted',
  });

/** Runs `writers` concurrent loops of `perWriter` timed operations; returns per-op latencies and wall time. */
async function timed(writers: number, perWriter: number, op: (writer: number, i: number) => Promise<unknown>) {
  const samples: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const t = performance.now();
        await op(w, i);
        samples.push(performance.now() - t);
      }
    }),
  );
  return { samples, elapsed: performance.now() - start };
}

async function main(): Promise<void> {
  const single = arg('single', 2000);
  const writers = arg('writers', 8);
  const perWriter = arg('per-writer', 500);
  const socCount = arg('soc', 200);
  const facts = infraFacts();

  const admin = await connectAs('admin');
  const channels = await connectAs('channels');
  const soc = await connectAs('soc');
  const pg = new Client({
    host: facts.pgHost,
    port: facts.pgPort,
    database: facts.pgDatabase,
    user: 'postgres',
    password: readFileSync(pgPasswordFileOf('postgres'), 'utf8').trim(),
  });
  await pg.connect();
  const ledgerHead = async () => Number((await pg.query('SELECT coalesce(max(ledger_seq), 0) AS s FROM ledger.ledger')).rows[0].s);

  const scratch = `BENCH_${randomBytes(4).toString('hex')}`;
  const scratchPrefix = scratch.toLowerCase();
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: scratch, subjects: [`${scratchPrefix}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File });

  let ledger: { stop: () => Promise<void> } | undefined;
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    ledger = startLedger();
    await waitHealthy(admin, 'ledger');
    await waitFor('ledger to catch up with EVENTS', async () => (await ledgerHead()) >= (await new EventStore(admin).lastSeq()), 120_000, 200);

    // Events made up front (creation and validation are not part of the append time), 1 KiB-ish each.
    const text = 'x'.repeat(600);
    const make = (n: number) => Array.from({ length: n }, () => chat(text));
    const oneWriter = make(single);
    const eightWriters = Array.from({ length: writers }, () => make(perWriter));
    const bodySize = Buffer.byteLength(JSON.stringify(oneWriter[0]));

    // The library on EVENTS, each writer with its own connection-level store.
    const store = new EventStore(channels);
    let lastSeq = 0;
    const lib1 = await timed(1, single, async (_w, i) => {
      lastSeq = Math.max(lastSeq, (await store.append(oneWriter[0 + i], 'none')).seq);
    });
    rows.push(row(`lib append, 1 writer`, lib1.samples, lib1.elapsed));
    const writerConnections = await Promise.all(Array.from({ length: writers }, () => connectAs('channels')));
    const stores = writerConnections.map((nc) => new EventStore(nc));
    const lib8 = await timed(writers, perWriter, async (w, i) => {
      lastSeq = Math.max(lastSeq, (await stores[w].append(eightWriters[w][i], 'none')).seq);
    });
    const lastAppendAt = performance.now();
    rows.push(row(`lib append, ${writers} writers`, lib8.samples, lib8.elapsed));

    // Ledger lag: from the last append until the ledger has recorded its sequence.
    await waitFor(`ledger to reach ${lastSeq}`, async () => (await ledgerHead()) >= lastSeq, 120_000, 5);
    const ledgerLag = performance.now() - lastAppendAt;
    for (const nc of writerConnections) await nc.close();

    // Baseline: plain js.publish, same bodies and count, on the scratch stream.
    const js = jetstream(admin);
    const raw1 = await timed(1, single, (_w, i) => js.publish(`${scratchPrefix}.session.${oneWriter[i].subject}`, JSON.stringify(oneWriter[i])));
    rows.push(row(`raw js.publish, 1 writer`, raw1.samples, raw1.elapsed));
    const rawConnections = await Promise.all(Array.from({ length: writers }, () => connectAs('admin')));
    const rawJs = rawConnections.map((nc) => jetstream(nc));
    const raw8 = await timed(writers, perWriter, (w, i) =>
      rawJs[w].publish(`${scratchPrefix}.session.${eightWriters[w][i].subject}`, JSON.stringify(eightWriters[w][i])),
    );
    rows.push(row(`raw js.publish, ${writers} writers`, raw8.samples, raw8.elapsed));
    for (const nc of rawConnections) await nc.close();

    // SOC feed: append → audit record (same event id) received on audit.> by the soc principal.
    const waiting = new Map<string, () => void>();
    const sub = soc.subscribe('audit.>', {
      callback: (error, msg) => {
        if (error) return;
        try {
          const id = (msg.json() as { id?: string }).id;
          if (id) waiting.get(id)?.();
        } catch {
          // checkpoints and other records without an id
        }
      },
    });
    await soc.flush();
    const socSamples: number[] = [];
    for (let i = 0; i < socCount; i++) {
      const event = chat(`soc ${i}`);
      const received = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`audit record for ${event.id} not received`)), 20_000);
        waiting.set(event.id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const t = performance.now();
      await store.append(event, 'none');
      await received;
      socSamples.push(performance.now() - t);
      waiting.delete(event.id);
    }
    sub.unsubscribe();
    rows.push(row('soc feed (append → audit.>)', socSamples));

    notes.push(`event body ${bodySize} bytes; EVENTS last seq after run ${await new EventStore(admin).lastSeq()}`);
    notes.push(`ledger lag after ${single + writers * perWriter} appends: ${Math.round(ledgerLag)} ms (last append seq ${lastSeq} → ledger.ledger max(ledger_seq))`);
    notes.push(
      `library overhead vs raw: 1 writer ${(lib1.elapsed / raw1.elapsed).toFixed(2)}x wall time, ${writers} writers ${(lib8.elapsed / raw8.elapsed).toFixed(2)}x`,
    );
  } finally {
    await ledger?.stop();
    await jsm.streams.delete(scratch).catch(() => undefined);
    await pg.end();
    await Promise.all([admin.close(), channels.close(), soc.close()]);
  }

  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`\n${'measurement'.padEnd(34)}${pad('count', 7)}${pad('ops/s', 9)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('max ms', 10)}`);
  console.log('-'.repeat(80));
  for (const r of rows) {
    console.log(`${r.name.padEnd(34)}${pad(r.count, 7)}${pad(r.perSecond ?? '-', 9)}${pad(r.p50, 10)}${pad(r.p99, 10)}${pad(r.max, 10)}`);
  }
  console.log('');
  for (const n of notes) console.log(n);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
