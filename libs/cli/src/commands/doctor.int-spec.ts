// `palisade doctor` against the running test infrastructure: each check passes where the host is in
// order and fails, naming the problem and the fix, when it is not (a forbidden listener, plain HTTP
// where TLS belongs, a NATS server without authorization, the Docker socket mounted into a container).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { createTestCa, freePort, repoRoot, waitFor } from '@palisade/testing';
import { allowedPortsFromLayout, checkDockerSocket, checkGatewayTls, checkListening, checkNatsAuth, runDoctor, tcpListeners, udpListeners } from './doctor.command';

const run = promisify(execFile);
const listen = (server: Server, host: string, port = 0): Promise<number> =>
  new Promise((resolve) => server.listen(port, host, () => resolve((server.address() as { port: number }).port)));
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('palisade doctor', () => {
  test('checkListening ignores loopback and flags every other listener on a port the layout does not allow', () => {
    const listeners = [
      { address: '127.0.0.1', port: 5432 },
      { address: '::1', port: 4222 },
      { address: '0.0.0.0', port: 8443 },
      { address: '10.0.0.5', port: 9999 },
      { address: '::', port: 2375 },
    ];
    const result = checkListening(listeners, [22, 8443]);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('10.0.0.5:9999');
    expect(result.detail).toContain(':::2375');
    expect(result.detail).not.toContain('5432');
    expect(result.fix).toBeDefined();
    expect(checkListening(listeners.slice(0, 3), [22, 8443]).ok).toBe(true);
  });

  test('the allowed ports come from the layout: the services of the VM that bind off-host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-layout-'));
    try {
      const file = join(dir, 'layout.yaml');
      writeFileSync(
        file,
        [
          'vms:',
          '  agent:',
          '    runs:',
          '      - { name: gateway, port: 18443, bind: private }',
          '      - { name: postgres, port: 5432, bind: loopback }',
          '      - { name: ledger, bind: none }',
          '      - { name: sshd, port: 22, bind: private }',
          '      - { name: syslog, port: 514, protocol: udp, bind: private }',
        ].join('\n'),
      );
      expect(allowedPortsFromLayout(file, 'agent')).toEqual([22, 18443]);
      expect(allowedPortsFromLayout(file, 'agent', 'udp')).toEqual([514]);
      expect(() => allowedPortsFromLayout(file, 'ollama')).toThrow(/no VM named ollama/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a plain-HTTP listener on a forbidden port is reported; once it is gone, it is not', async () => {
    const server = createHttpServer((_req, res) => res.end('hello'));
    const port = await listen(server, '0.0.0.0');
    try {
      expect(tcpListeners()).toContainEqual({ address: '0.0.0.0', port });
      const [result] = await runDoctor({ only: 'listening', 'allow-ports': '22,8443' });
      expect(result).toMatchObject({ check: 'listening', ok: false });
      expect(result.detail).toContain(`0.0.0.0:${port}`);
      // The CLI: non-zero exit and JSON that says which check failed.
      const cli = await run(process.execPath, [join(repoRoot(), 'bin', 'palisade.js'), 'doctor', '--only', 'listening', '--allow-ports', '22', '--json']).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code: number; stdout: string }) => error,
      );
      expect(cli.code).toBe(1);
      const report = JSON.parse(cli.stdout) as { ok: boolean; checks: { check: string; ok: boolean; detail: string }[] };
      expect(report.ok).toBe(false);
      expect(report.checks[0].detail).toContain(`0.0.0.0:${port}`);
    } finally {
      await close(server);
    }
    const [after] = await runDoctor({ only: 'listening', 'allow-ports': '22,8443' });
    expect(after.detail).not.toContain(`0.0.0.0:${port}`);
  });

  test('a UDP socket bound off-loopback is a listener too: reported unless its port is allowed for UDP', async () => {
    const socket = createSocket('udp4');
    const port = await new Promise<number>((resolve) => socket.bind(0, '0.0.0.0', () => resolve(socket.address().port)));
    try {
      expect(udpListeners()).toContainEqual({ address: '0.0.0.0', port, protocol: 'udp' });
      const [bad] = await runDoctor({ only: 'listening', 'allow-ports': `22,${port}` });
      expect(bad.ok).toBe(false);
      expect(bad.detail).toContain(`udp 0.0.0.0:${port}`);
      const [allowed] = await runDoctor({ only: 'listening', 'allow-ports': `22,${port}/udp` });
      expect(allowed.detail).not.toContain(`0.0.0.0:${port}`);
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    expect(udpListeners()).not.toContainEqual({ address: '0.0.0.0', port, protocol: 'udp' });
  });

  test('DHCP client sockets (udp 68, 546) are not reported; any other UDP port still is', () => {
    const dhcp = [
      { address: '0.0.0.0', port: 68, protocol: 'udp' as const },
      { address: '::', port: 546, protocol: 'udp' as const },
    ];
    expect(checkListening(dhcp, [22]).ok).toBe(true);
    const other = checkListening([...dhcp, { address: '0.0.0.0', port: 69, protocol: 'udp' as const }], [22]);
    expect(other.ok).toBe(false);
    expect(other.detail).toContain('udp 0.0.0.0:69');
    expect(other.detail).not.toMatch(/:68\b|:546\b/);
    // A TCP listener on 68 is not a DHCP client.
    expect(checkListening([{ address: '0.0.0.0', port: 68, protocol: 'tcp' }], [22]).ok).toBe(false);
  });

  test('gateway-tls: TLS passes; plain HTTP on the gateway port fails with the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-tls-'));
    const ca = await createTestCa(dir);
    const tls = createHttpsServer({ key: ca.key, cert: ca.cert }, (_req, res) => res.end('ok'));
    const plain = createHttpServer((_req, res) => res.end('ok'));
    try {
      const tlsPort = await listen(tls as unknown as Server, '127.0.0.1');
      const plainPort = await listen(plain, '127.0.0.1');
      const good = await checkGatewayTls(`https://127.0.0.1:${tlsPort}`);
      expect(good.ok).toBe(true);
      expect(good.detail).toMatch(/TLSv1\.[23]/);
      const bad = await checkGatewayTls(`https://127.0.0.1:${plainPort}`);
      expect(bad).toMatchObject({ ok: false, detail: expect.stringContaining('answers plain HTTP (status 200)') });
      expect(bad.fix).toContain('HTTPS');
    } finally {
      await close(tls as unknown as Server);
      await close(plain);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('nats-auth and ledger pass on the test infrastructure', async () => {
    const results = await runDoctor({ only: 'nats-auth,ledger' });
    expect(results.map((r) => [r.check, r.ok])).toEqual([
      ['nats-auth', true],
      ['ledger', true],
    ]);
    expect(results[0].detail).toContain('denied publish on audit.>');
  });

  test('nats-auth fails against a NATS server that lets anyone in', async () => {
    const port = await freePort();
    const nats: ChildProcess = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    try {
      await waitFor('open nats-server', async () => tcpListeners().some((l) => l.port === port) || undefined, 15_000, 100);
      const result = await checkNatsAuth(`nats://127.0.0.1:${port}`);
      expect(result).toMatchObject({ check: 'nats-auth', ok: false, detail: expect.stringContaining('accepts connections without credentials') });
    } finally {
      nats.kill('SIGTERM');
    }
  });

  test('docker-socket: a container with the Docker socket mounted is named; after it is removed, it is not', async () => {
    const docker = new Docker();
    const name = `palisade-doctor-probe-${process.pid}-${Date.now()}`;
    const container = await docker.createContainer({
      name,
      Image: 'palisade/sandbox:latest',
      Cmd: ['sleep', '120'],
      Labels: { 'palisade.test': 'doctor' },
      HostConfig: { Binds: ['/var/run/docker.sock:/var/run/docker.sock:ro'], NetworkMode: 'none', AutoRemove: false },
    });
    try {
      await container.start();
      const bad = await checkDockerSocket(docker);
      expect(bad.ok).toBe(false);
      expect(bad.detail).toContain(name);
    } finally {
      await container.remove({ force: true });
    }
    const after = await checkDockerSocket(docker);
    expect(after.detail).not.toContain(name);
  });
});
