// NATS over TLS as `palisade infra nats-config --tls` sets it up (scripts/infra.sh with
// PALISADE_NATS_TLS=1; always on in the three-VM deployment): the real nats-server requires TLS with a
// certificate from the local CA; the read-only soc user subscribes to audit.> over TLS and receives
// what the ledger publishes; a plain connection and a client that does not trust the CA are refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { connectNats } from '@palisade/nats';
import { runInfraCommand } from '../commands/infra.command';
import { ensureSecrets } from './secrets';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

describe('NATS with TLS from the local CA (palisade infra nats-config --tls)', () => {
  const home = mkdtempSync(join(tmpdir(), 'palisade-nats-tls-'));
  const previousHome = process.env.PALISADE_HOME;
  let server: ChildProcess;
  let port: number;
  const seed = (user: string) => readFileSync(join(home, 'secrets', 'nats', `${user}.nk`), 'utf8').trim();
  const caFile = join(home, 'tls', 'ca.crt');

  beforeAll(async () => {
    process.env.PALISADE_HOME = home;
    ensureSecrets(home);
    port = await freePort();
    const conf = join(home, 'nats.conf');
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await runInfraCommand(['nats-config', '--port', String(port), '--store', join(home, 'js'), '--out', conf, '--tls'])).toBe(0);
    log.mockRestore();
    expect(readFileSync(conf, 'utf8')).toMatch(/tls \{\n {2}cert_file: ".*nats\.crt"\n {2}key_file: ".*nats\.key"/);
    server = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stderr!.on('data', (c) => {
        out += c;
        if (out.includes('Server is ready')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`nats-server exited ${code}: ${out}`)));
    });
  });

  afterAll(() => {
    server?.kill();
    process.env.PALISADE_HOME = previousHome;
    if (previousHome === undefined) delete process.env.PALISADE_HOME;
    rmSync(home, { recursive: true, force: true });
  });

  it('the soc user subscribes over TLS and receives what the ledger publishes on audit.>', async () => {
    const soc = await connectNats({ user: 'soc', url: `tls://127.0.0.1:${port}`, seed: seed('soc'), caFile, reconnect: false });
    const ledger = await connectNats({ user: 'ledger', url: `tls://127.0.0.1:${port}`, seed: seed('ledger'), caFile, reconnect: false });
    try {
      const sub = soc.subscribe('audit.>', { max: 1 });
      await soc.flush();
      ledger.publish('audit.checkpoint', 'signed-checkpoint');
      let received = '';
      for await (const msg of sub) received = msg.string();
      expect(received).toBe('signed-checkpoint');
    } finally {
      await soc.close();
      await ledger.close();
    }
  });

  it('refuses a plain (non-TLS) client and a client that does not trust the local CA', async () => {
    // Plain protocol: the server announces tls_required and never accepts a plain CONNECT.
    const answer = await new Promise<string>((resolve) => {
      let data = '';
      const socket = tcpConnect({ host: '127.0.0.1', port });
      let sent = false;
      socket.on('data', (chunk) => {
        data += chunk;
        if (!sent && data.includes('\r\n')) {
          sent = true;
          socket.write('CONNECT {"verbose":true,"tls_required":false}\r\nPING\r\n');
        }
      });
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(data));
      setTimeout(() => socket.destroy(), 4000);
    });
    expect(answer).toContain('"tls_required":true');
    expect(answer).not.toMatch(/\+OK|PONG/);
    // A TLS client with the system trust store only: the local CA's certificate is not trusted.
    await expect(connect({ servers: `127.0.0.1:${port}`, tls: {}, maxReconnectAttempts: 0, timeout: 3000 })).rejects.toThrow(/certificate/i);
  });
});
