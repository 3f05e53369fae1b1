// The test harness itself, against the real nats-server: service processes it starts die with the
// process that started them (no orphan keeps sharing durable consumers after a killed run), and the
// stack's guard sees Palisade services already connected to NATS and names their pids.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { natsConnections, repoRoot, serviceEnv, startServiceProcess, waitFor } from './infra';
import { PalisadeStack } from './palisade-stack';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const cronConnections = async () => (await natsConnections()).filter((c) => c.name === 'palisade-cron');

describe('test harness (real NATS)', () => {
  const started: number[] = [];

  afterAll(() => {
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  test('a service started by the harness exits when its parent is SIGKILLed, and leaves NATS', async () => {
    expect(await cronConnections()).toEqual([]);
    // The "test run": a separate node process that starts cron through the harness, then is killed.
    const infra = join(repoRoot(), 'dist', 'libs', 'testing', 'src', 'infra.js');
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `require('reflect-metadata');
         const t = require(${JSON.stringify(infra)});
         const p = t.startServiceProcess('cron', t.serviceEnv('cron'));
         console.log('child ' + p.child.pid);
         setInterval(() => undefined, 1000);`,
      ],
      { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    started.push(parent.pid!);
    let out = '';
    parent.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const child = await waitFor('child pid', () => Number(/child (\d+)/.exec(out)?.[1]) || undefined);
    started.push(child);
    // Connected, and the guard names it by pid.
    await waitFor('cron connected', async () => ((await cronConnections()).some((c) => c.pid === child) ? true : undefined), 60_000, 200);
    await expect(PalisadeStack.assertNoServicesConnected()).rejects.toThrow(
      new RegExp(`palisade-cron \\(pid ${child}\\).*kill ${child}`),
    );

    parent.kill('SIGKILL');
    await waitFor('parent gone', () => !alive(parent.pid!) || undefined);
    await waitFor('the orphan exits', () => !alive(child) || undefined, 15_000, 100);
    await waitFor('its NATS connection is gone', async () => ((await cronConnections()).length === 0 ? true : undefined), 15_000, 200);
    await expect(PalisadeStack.assertNoServicesConnected()).resolves.toBeUndefined();
  });

  test('without a parent death, the service keeps running (the preload does not kill healthy services)', async () => {
    const proc = startServiceProcess('cron', serviceEnv('cron'));
    started.push(proc.child.pid!);
    try {
      await waitFor('cron connected', async () => ((await cronConnections()).some((c) => c.pid === proc.child.pid) ? true : undefined), 60_000, 200);
      // Well past the preload's polling interval it is still there and connected.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(alive(proc.child.pid!)).toBe(true);
      expect((await cronConnections()).map((c) => c.pid)).toEqual([proc.child.pid]);
    } finally {
      await proc.stop();
    }
    await waitFor('its NATS connection is gone', async () => ((await cronConnections()).length === 0 ? true : undefined), 15_000, 200);
  });
});
