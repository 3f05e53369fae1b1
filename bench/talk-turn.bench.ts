// Whole-stack benchmarks (root; infra up; image built). Every service runs as its own process.
//
// 1. Talk turns with the shared yardstick (`bench-talk-turn.mjs`: a fake Nextcloud Talk that signs
//    webhooks like Nextcloud 32 and an instant Ollama stand-in): reply-only turns, p50/p99, turns/s
//    sequential and 20 in flight, and the RSS of all Palisade processes together.
//      node dist/bench/talk-turn.bench.js --talk-bench <path to bench-talk-turn.mjs> [--n 100]
//        [--talk-port 18790] [--ollama-port 11435]   (the yardstick's fake Talk and Ollama ports: pick
//        free ones when another run on the machine uses the defaults)
// 2. Operator API turns whose safe command smart mode auto-approves (`true`): the model asks `exec`,
//    the command runs in the sandbox, the model answers. Model time (the stand-in answers at once) is
//    measured at the stand-in and subtracted: the figure is Palisade's own overhead. p50/p99 over --api-n.
// Run without --talk-bench to measure only (2); --api-n 0 skips (2).
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { PalisadeStack, type OllamaChatRequest } from '@palisade/testing';

function arg(name: string, fallback?: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

async function talkBench(script: string, n: string, talkPort: string, ollamaPort: string): Promise<void> {
  const secret = 'b'.repeat(64);
  // The yardstick brings its own fake Talk and Ollama stand-in (default ports 18790 and 11435).
  const stack = new PalisadeStack({
    talk: false,
    talkUrl: `http://127.0.0.1:${talkPort}`,
    ollamaUrl: `http://127.0.0.1:${ollamaPort}`,
    cloud: false,
    botSecret: secret,
  });
  try {
    // Inside the try: a stack that fails to start is stopped too (its processes would also die with
    // this one — the harness preloads die-with-parent — but not before the bench exits).
    await stack.start();
    await stack.admit('users/alice', 'execute');
    const pids = stack.procs.map((p) => p.child.pid!).filter(Boolean);
    console.log(`palisade idle RSS (8 services): ${rssMiB(pids).toFixed(0)} MiB`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          script,
          '--webhook-url',
          stack.webhookUrl,
          '--secret',
          secret,
          '--php-json',
          '--n',
          n,
          '--talk-port',
          talkPort,
          '--ollama-port',
          ollamaPort,
          '--label',
          'palisade',
        ],
        {
          stdio: 'inherit',
        },
      );
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`bench-talk-turn exited ${code}`)),
      );
    });
    console.log(`palisade RSS after the bench (8 services): ${rssMiB(pids).toFixed(0)} MiB`);
  } finally {
    await stack.stop();
  }
}

async function apiBench(runs: number): Promise<void> {
  const stack = new PalisadeStack({ cloud: false });
  await stack.start();
  try {
    let modelMs = 0;
    stack.ollama!.setHandler((request: OllamaChatRequest) => {
      const t = performance.now();
      const last = request.messages[request.messages.length - 1];
      const reply =
        last.role === 'tool'
          ? { content: 'done' }
          : { toolCalls: [{ name: 'exec', arguments: { command: 'true' } }] };
      modelMs += performance.now() - t;
      return reply;
    });
    const session = (await stack.api<{ session: string }>('POST', '/api/sessions')).body.session;
    const times: number[] = [];
    for (let i = 0; i < runs + 5; i++) {
      const before = stack.ollama!.chatRequests.length;
      modelMs = 0;
      const t = performance.now();
      const res = await stack.api<{ status: string }>('POST', `/api/sessions/${session}/messages`, {
        text: `turn ${i}`,
      });
      const total = performance.now() - t;
      if (res.status !== 200 || res.body.status !== 'completed')
        throw new Error(`turn ${i}: ${res.status} ${JSON.stringify(res.body)}`);
      const calls = stack.ollama!.chatRequests.slice(before);
      if (calls.length !== 2) throw new Error(`expected 2 model calls, got ${calls.length}`);
      if (i >= 5) times.push(total - modelMs);
    }
    times.sort((a, b) => a - b);
    console.log(
      `operator API turn with an auto-approved \`true\` (2 model calls, 1 sandbox run), overhead excluding model time, ${runs} turns: ` +
        `p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms`,
    );
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const script = arg('talk-bench');
  if (script) await talkBench(script, arg('n', '100')!, arg('talk-port', '18790')!, arg('ollama-port', '11435')!);
  const apiN = Number(arg('api-n', '200'));
  if (apiN > 0) await apiBench(apiN);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
