// Latency of running `true` in the sandbox image, five ways (p50 / p99 in ms):
//   cli-run     `docker run --rm <image> true` (the Docker CLI, a new container each time)
//   cli-exec    `docker exec <warm container> true` (the Docker CLI into a running container)
//   cold        the runner, a new session and no pool: create + start a hardened container, then exec
//   pool        the runner, a new session's first command on a pre-started pool container
//   warm        the runner, the next command of a session: exec in its warm container
//   approved→exit cold / warm: the whole service path as the gateway sees it once an approval is
//               decided — approvals signs the grant, `cmd.sandbox.run` over NATS to sandbox-exec
//               running as its own process (verify signature / expiry / binding, claim with
//               `exec.grant.used` at expected version none, `exec.started`, run, `exec.finished`),
//               reply. Cold: a new session each run and no pool; warm: the next command of a session.
//   approved→exit egress cold / warm: the same with the grant naming the egress network (allowlist
//               configured): the proxy and the bridge's nftables table are in place, and every run
//               also reads the table before and after (`nft -j list table`), so the difference to
//               the no-network rows is what the network-layer audit costs per run.
//   nft install  replacing one egress table with `nft -f` (what start-up and a restore pay).
// `--service-only` skips the runner-level rows (cold / pool / warm), keeping the CLI baselines.
// Run (root, infra up with scripts/infra.sh, image built by scripts/build-sandbox-image.sh):
//   npm run build && node dist/bench/sandbox.bench.js [--runs 100] [--image palisade/sandbox:latest]
// Each measured run is timed from the caller's side, end to end; clean-up between runs is not timed.
import 'reflect-metadata';
import Docker from 'dockerode';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type Grant, type SandboxRunReply, signGrant, uuidv7 } from '@palisade/contracts';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  keyFileOf,
  publicKeyFileOf,
  serviceEnv,
  startServiceProcess,
  waitFor,
} from '@palisade/testing';
import {
  DockerSandboxRepository,
  SANDBOX_LABELS,
} from '../services/sandbox-exec/src/sandbox/docker-sandbox.repository';
import { NftEgressFirewall } from '../services/sandbox-exec/src/sandbox/egress-firewall';

interface Stats {
  name: string;
  runs: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

/** Nearest-rank percentile. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summarize(name: string, samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    name,
    runs: samples.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
  };
}

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

async function measure(
  runs: number,
  once: () => Promise<void> | void,
  between?: () => Promise<void>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    await once();
    samples.push(performance.now() - t0);
    await between?.();
  }
  return samples;
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', process.env.SANDBOX_BENCH_RUNS ?? '100'));
  const imageRef = arg('image', 'palisade/sandbox:latest');
  const results: Stats[] = [];
  const tag = `bench-${process.pid}`;
  const sessions: string[] = [];
  let n = 0;
  const newSession = (): string => {
    const id = `${tag}:${(n += 1)}`;
    sessions.push(id);
    return id;
  };

  const coldRunner = new DockerSandboxRepository({ poolSize: 0 });
  const poolRunner = new DockerSandboxRepository({ poolSize: 2, poolImage: imageRef });
  let warmContainer: string | undefined;
  try {
    const image = await coldRunner.resolveImageId(imageRef);
    const request = { command: 'true', cwd: '/workspace', env: {}, image };
    const check = (r: { exitCode: number }): void => {
      if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode}`);
    };

    // Warm-up: the first container start on an engine pays for page cache and layer mounts.
    docker(['run', '--rm', image, 'true']);

    results.push(
      summarize(
        'cli-run: docker run --rm <image> true',
        await measure(runs, () => void docker(['run', '--rm', image, 'true'])),
      ),
    );

    warmContainer = docker(['run', '-d', '--rm', '--network', 'none', image, 'sleep', 'infinity']);
    docker(['exec', warmContainer, 'true']);
    results.push(
      summarize(
        'cli-exec: docker exec <warm> true',
        await measure(runs, () => void docker(['exec', warmContainer!, 'true'])),
      ),
    );

    const serviceOnly = process.argv.includes('--service-only');
    if (!serviceOnly) await measureRunner();
    results.push(...(await measureService(runs, image, false)));
    results.push(...(await measureService(runs, image, true)));
    results.push(await measureNftInstall(Math.min(runs, 50)));

    async function measureRunner(): Promise<void> {
      await coldRunner.start();
      let current = '';
      results.push(
        summarize(
          'runner cold: new session, no pool',
          await measure(
            runs,
            async () => {
              current = newSession();
              check(await coldRunner.run(current, request));
            },
            async () => {
              await coldRunner.removeWorkspace(current);
            },
          ),
        ),
      );

      await poolRunner.poolReady();
      results.push(
        summarize(
          'runner pool: first command, adopted',
          await measure(
            runs,
            async () => {
              current = newSession();
              const r = await poolRunner.run(current, request);
              check(r);
              if (r.container.origin !== 'pool')
                throw new Error(`expected a pool container, got ${r.container.origin}`);
            },
            async () => {
              await poolRunner.removeWorkspace(current);
              await poolRunner.poolReady(); // refill untimed, so every run finds a ready container
            },
          ),
        ),
      );

      const warmSession = newSession();
      check(await coldRunner.run(warmSession, request));
      results.push(
        summarize(
          'runner warm: exec in the session container',
          await measure(runs, async () => {
            const r = await coldRunner.run(warmSession, request);
            check(r);
            if (r.container.origin !== 'warm')
              throw new Error(`expected the warm container, got ${r.container.origin}`);
          }),
        ),
      );
    }
  } finally {
    if (warmContainer) spawnSync('docker', ['rm', '-f', warmContainer]);
    for (const id of sessions) {
      await coldRunner.removeWorkspace(id).catch(() => undefined);
      await poolRunner.removeWorkspace(id).catch(() => undefined);
    }
    await coldRunner.close();
    await poolRunner.close();
  }

  const width = Math.max(...results.map((r) => r.name.length));
  console.log(`sandbox latency of \`true\` (${runs} runs each, ms, measured by the caller)`);
  console.log(
    `${'case'.padEnd(width)}  ${['p50', 'p99', 'mean', 'min', 'max'].map((h) => h.padStart(7)).join('')}`,
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(width)}  ${[r.p50, r.p99, r.mean, r.min, r.max].map((v) => v.toFixed(1).padStart(7)).join('')}`,
    );
  }
  console.log(JSON.stringify({ bench: 'sandbox', runs, results }));
}

/** Replacing one egress table (on a bridge name no interface has: nothing is filtered). */
async function measureNftInstall(runs: number): Promise<Stats> {
  const firewall = new NftEgressFirewall({
    bridge: `pb${process.pid % 100000}`,
    proxyAddress: '10.255.255.2',
    proxyPort: 3128,
    dnsPort: 53,
  });
  try {
    return summarize('nft install: replace one egress table', await measure(runs, () => firewall.install()));
  } finally {
    await firewall.remove();
  }
}

/** cmd.sandbox.run with real grants against sandbox-exec as its own process. */
async function measureService(runs: number, image: string, egress: boolean): Promise<Stats[]> {
  const engine = new Docker();
  const approvalsKey = createPrivateKey(readFileSync(keyFileOf('approvals-grant'), 'utf8'));
  const network = egress ? `palisade-bench-egress-${process.pid}` : 'none';
  const service = startServiceProcess(
    'sandbox-exec',
    serviceEnv('sandbox-exec', {
      PALISADE_SANDBOX_GRANT_PUBKEY_FILE: publicKeyFileOf('approvals-grant'),
      PALISADE_SANDBOX_POOL_SIZE: '0',
      PALISADE_LOG_LEVEL: 'warn',
      ...(egress
        ? {
            PALISADE_SANDBOX_EGRESS_ALLOWLIST: 'example.invalid:443',
            PALISADE_SANDBOX_EGRESS_NETWORK: network,
          }
        : {}),
    }),
  );
  const label = egress ? 'approved→exit egress' : 'approved→exit';
  const admin = await connectAs('admin');
  const gateway = await connectAs('gateway');
  const rpc = new NatsRpcClient(gateway, 60_000);
  const tag = randomBytes(4).toString('hex');
  const sessions: string[] = [];
  let n = 0;
  const newSession = (): string => {
    const id = `ses_bench${tag}${(n += 1)}`;
    sessions.push(id);
    return id;
  };
  const approvedRun = async (session: string): Promise<void> => {
    const grant: Grant = {
      grant: uuidv7(),
      approval: uuidv7(),
      session,
      command: 'true',
      cwd: '/workspace',
      env: {},
      image,
      limits: {
        memoryBytes: 512 * 1024 * 1024,
        nanoCpus: 1_000_000_000,
        pidsLimit: 256,
        timeoutMs: 60_000,
        outputBytes: 200 * 1024,
        network,
      },
      exp: new Date(Date.now() + 60_000).toISOString(),
    };
    const reply = await rpc.request<SandboxRunReply>('cmd.sandbox.run', {
      grant: signGrant(approvalsKey, grant),
      session,
      command: grant.command,
      cwd: grant.cwd,
      env: grant.env,
      image,
      correlationId: uuidv7(),
    });
    if (reply.exitCode !== 0) throw new Error(`true exited ${reply.exitCode}`);
  };
  const out: Stats[] = [];
  try {
    await waitFor(
      'sandbox-exec healthy',
      async () => {
        const reply = await admin.request('health.sandbox-exec', '', { timeout: 2_000 });
        return reply.json<{ data: { status: string } }>().data.status === 'ok';
      },
      60_000,
      200,
    );
    await approvedRun(newSession()); // warm-up
    let current = '';
    out.push(
      summarize(
        `${label} cold: cmd.sandbox.run, new session`,
        await measure(
          runs,
          async () => {
            current = newSession();
            await approvedRun(current);
          },
          async () => {
            // Untimed: remove the session's container so containers do not pile up.
            const list = await engine.listContainers({
              all: true,
              filters: { label: [`${SANDBOX_LABELS.session}=${current}`] },
            });
            for (const c of list) await engine.getContainer(c.Id).remove({ force: true });
          },
        ),
      ),
    );
    const warm = newSession();
    await approvedRun(warm);
    out.push(
      summarize(`${label} warm: cmd.sandbox.run, same session`, await measure(runs, () => approvedRun(warm))),
    );
  } finally {
    await service.stop();
    const { Volumes } = await engine.listVolumes({ filters: { label: [`${SANDBOX_LABELS.managed}=true`] } });
    for (const v of Volumes ?? [])
      if (sessions.includes(v.Labels?.[SANDBOX_LABELS.session] ?? ''))
        await engine
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined);
    await gateway.close();
    await admin.close();
  }
  return out;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
