#!/usr/bin/env node
// `npm run bench`: every benchmark in turn, each printing its figures beside a baseline measured in
// the same run. Needs root (infrastructure, Docker). Pass names to run a subset:
//   npm run bench -- policy sandbox
// The Talk-turn yardstick lives outside the repo; point PALISADE_TALK_BENCH at bench-talk-turn.mjs
// (default: ../shared/bench/bench-talk-turn.mjs beside the repo, when present).
// Options after the names go to every benchmark run, e.g. the yardstick's ports when the defaults are
// taken by another run on the same machine:
//   node scripts/bench.mjs talk-turn --talk-port 28790 --ollama-port 21435 --api-n 0
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npm', ['run', '-s', 'build']);
run('bash', ['scripts/infra.sh', 'up']);
run('bash', ['scripts/build-sandbox-image.sh']);
const talkBench = process.env.PALISADE_TALK_BENCH ?? join(repo, '..', 'shared', 'bench', 'bench-talk-turn.mjs');
const all = {
  policy: ['dist/bench/policy.bench.js'],
  'event-log': ['dist/bench/event-log.bench.js'],
  sandbox: ['dist/bench/sandbox.bench.js'],
  'gateway-auth': ['dist/bench/gateway-auth.bench.js'],
  firewall: ['dist/bench/firewall.bench.js'],
  'talk-turn': ['dist/bench/talk-turn.bench.js', ...(existsSync(talkBench) ? ['--talk-bench', talkBench] : [])],
};
const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith('--'));
const names = firstOption >= 0 ? argv.slice(0, firstOption) : argv;
const options = firstOption >= 0 ? argv.slice(firstOption) : [];
const wanted = names.length ? names : Object.keys(all);
for (const name of wanted) {
  if (!all[name]) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(all).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== ${name} ===`);
  run(process.execPath, [...all[name], ...options]);
}
