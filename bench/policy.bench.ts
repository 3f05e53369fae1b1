/**
 * Approvals command policy benchmark: evaluates the whole policy corpus over and over for about three
 * seconds (after a short warm-up) and prints decisions per second and per-decision latency percentiles.
 *
 *   npm run build && node dist/bench/policy.bench.js [seconds]
 */
import { CORPUS, corpusContext } from '../services/approvals/src/policy/corpus';
import { evaluateCommand } from '../services/approvals/src/policy';

const WARM_UP_MS = 500;
const RUN_MS = Math.max(0.5, Number(process.argv[2] ?? 3)) * 1000;

const cases = CORPUS.map((c) => ({ command: c.command, ctx: corpusContext(c), expect: c.expect }));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function run(
  durationMs: number,
  record: boolean,
): { count: number; elapsedNs: bigint; samples: number[]; mismatches: number } {
  const samples: number[] = [];
  let count = 0;
  let mismatches = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(durationMs * 1e6));
  let now = start;
  while (now < deadline) {
    for (const c of cases) {
      const t0 = process.hrtime.bigint();
      const decision = evaluateCommand(c.command, c.ctx);
      const t1 = process.hrtime.bigint();
      if (record) samples.push(Number(t1 - t0) / 1000);
      if (decision.outcome !== c.expect) mismatches++;
      count++;
      now = t1;
    }
  }
  return { count, elapsedNs: now - start, samples, mismatches };
}

run(WARM_UP_MS, false);
const result = run(RUN_MS, true);
const sorted = Float64Array.from(result.samples).sort();
const seconds = Number(result.elapsedNs) / 1e9;
const fmt = (us: number): string => `${us.toFixed(1)} µs`;

console.log(
  `policy benchmark: ${cases.length} corpus cases, ${result.count} decisions in ${seconds.toFixed(2)} s`,
);
console.log(`  throughput: ${Math.round(result.count / seconds).toLocaleString('en-US')} decisions/s`);
console.log(
  `  per decision: p50 ${fmt(percentile(sorted, 50))}, p90 ${fmt(percentile(sorted, 90))}, p99 ${fmt(percentile(sorted, 99))}, max ${fmt(sorted[sorted.length - 1])}`,
);
if (result.mismatches > 0) {
  console.log(`  WARNING: ${result.mismatches} decisions differed from the corpus expectation`);
  process.exitCode = 1;
}
