// credential-broker as its own process on the real nats-server, against the HTTPS Passwords stand-in.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { BROKER_FETCH, uuidv7, type BrokerFetchReply, type BrokerFetchRequest } from '@palisade/contracts';
import { EventStore } from '@palisade/event-log';
import { NatsRpcClient } from '@palisade/nats';
import {
  connectAs,
  PasswordsStandin,
  serviceEnv,
  startServiceProcess,
  waitFor,
  waitHealthy,
  type ServiceProcess,
} from '@palisade/testing';

const AGENT = 'palisade-agent';
const APP_PASSWORD = randomBytes(18).toString('base64url');
const SECRET = randomBytes(24).toString('hex');
const ENTRY = '3d2e1f00-7a6b-4c5d-9e8f-112233445566';
const SHARED_ENTRY = '3d2e1f00-7a6b-4c5d-9e8f-665544332211';

describe('credential-broker (real NATS, broker as a process, HTTPS Passwords stand-in)', () => {
  const passwords = new PasswordsStandin({
    user: AGENT,
    appPassword: APP_PASSWORD,
    entries: [
      { id: ENTRY, label: 'API key', password: SECRET },
      { id: SHARED_ENTRY, label: 'Shared by Bob', password: 'bob-secret-value', share: 'share-1' },
      { id: '3d2e1f00-7a6b-4c5d-9e8f-999999999999', label: 'Not configured', password: 'never-asked-for' },
    ],
  });
  let dir: string;
  let broker: ServiceProcess;
  let admin: NatsConnection;
  let router: NatsConnection;
  let env: Record<string, string>;

  const fetchAs = (nc: NatsConnection, request: BrokerFetchRequest) =>
    new NatsRpcClient(nc, 15_000).request<BrokerFetchReply>(BROKER_FETCH, request);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-broker-int-'));
    const pw = await passwords.start();
    const appPasswordFile = join(dir, 'app-password');
    writeFileSync(appPasswordFile, APP_PASSWORD);
    chmodSync(appPasswordFile, 0o600);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pw.caCert!);
    env = serviceEnv('credential-broker', {
      PALISADE_PASSWORDS_URL: pw.url,
      PALISADE_PASSWORDS_USER: AGENT,
      PALISADE_PASSWORDS_APP_PASSWORD_FILE: appPasswordFile,
      PALISADE_PASSWORDS_CA_FILE: caFile,
      PALISADE_BROKER_ENTRIES: `llm-cloud=${ENTRY},shared=${SHARED_ENTRY}`,
    });
    admin = await connectAs('admin');
    router = await connectAs('llm-router');
    broker = startServiceProcess('credential-broker', env);
    await waitHealthy(admin, 'credential-broker');
  });

  afterAll(async () => {
    await broker?.stop();
    await Promise.all([admin?.close(), router?.close()]);
    await passwords.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    passwords.clearRecords();
    passwords.enableAccount();
  });

  test('releases a configured entry to llm-router and records who, which and why', async () => {
    const correlationId = uuidv7();
    const reply = await fetchAs(router, {
      name: 'llm-cloud',
      purpose: 'int test',
      session: 'ses_test1',
      correlationId,
    });
    expect(reply).toEqual({ value: SECRET, entry: ENTRY });
    const event = await waitFor('credential.accessed', async () =>
      (await new EventStore(admin).readAggregate('credential', ENTRY)).find(
        (e) => e.event.correlationid === correlationId,
      ),
    );
    expect(event.event.data).toEqual({
      entry: ENTRY,
      requester: 'llm-router',
      purpose: 'int test',
      session: 'ses_test1',
    });
    expect(event.raw).not.toContain(SECRET);
    expect(passwords.requestsTo('password/list')).toHaveLength(0);
  });

  test('an unknown name is refused and Passwords is never asked', async () => {
    await expect(fetchAs(router, { name: 'not-configured', purpose: 'probe' })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('PALISADE_BROKER_ENTRIES'),
    });
    // An entry id is not a name: callers can never pick arbitrary entries.
    await expect(
      fetchAs(router, { name: '3d2e1f00-7a6b-4c5d-9e8f-999999999999', purpose: 'probe' }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(
      fetchAs(router, { name: 'llm-cloud', purpose: 'x', id: ENTRY } as never),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(passwords.requests).toHaveLength(0);
  });

  test('only llm-router may ask: the gateway is stopped by NATS permissions', async () => {
    const gateway = await connectAs('gateway', () => undefined);
    try {
      await expect(fetchAs(gateway, { name: 'llm-cloud', purpose: 'steal' })).rejects.toMatchObject({
        code: expect.stringMatching(/permission_violation|timeout/),
      });
    } finally {
      await gateway.close().catch(() => undefined);
    }
    expect(passwords.requests).toHaveLength(0);
  });

  test('revoked access (account disabled → 401, share removed → 404) is a clear error and nothing is released', async () => {
    passwords.disableAccount();
    const revoked = fetchAs(router, { name: 'llm-cloud', purpose: 'after revocation' });
    await expect(revoked).rejects.toMatchObject({
      code: 'credential_revoked',
      message: expect.stringContaining('HTTP 401'),
    });
    const message = await revoked.catch((e: Error) => e.message);
    expect(message).not.toContain(APP_PASSWORD);
    expect(message).not.toContain(SECRET);
    passwords.enableAccount();

    passwords.unshare(SHARED_ENTRY, 404);
    await expect(fetchAs(router, { name: 'shared', purpose: 'after unshare' })).rejects.toMatchObject({
      code: 'credential_revoked',
      message: expect.stringContaining(SHARED_ENTRY),
    });
    // The next fetch reads again (nothing was cached) and still works for the entry that is shared.
    expect((await fetchAs(router, { name: 'llm-cloud', purpose: 'again' })).value).toBe(SECRET);
    expect(passwords.requestsTo('password/show')).toHaveLength(2);
    const events = await new EventStore(admin).readAggregate('credential', SHARED_ENTRY);
    expect(events).toHaveLength(0);
  });

  test('health says Passwords is reachable with the configured login; an app-password failure is named', async () => {
    const health = async () =>
      (await admin.request('health.credential-broker', '', { timeout: 10_000 })).json<{
        data: { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
      }>().data;
    expect((await health()).checks.passwords.ok).toBe(true);
    expect(passwords.requestsTo('password/show')).toHaveLength(0);
    passwords.disableAccount();
    const degraded = await health();
    expect(degraded.status).toBe('degraded');
    expect(degraded.checks.passwords.detail).toContain('PALISADE_PASSWORDS_APP_PASSWORD_FILE');
  });

  test('a plain-http Passwords URL is refused at start (exit 78, naming the variable)', async () => {
    const refused = startServiceProcess('credential-broker', {
      ...env,
      PALISADE_PASSWORDS_URL: 'http://127.0.0.1:9/',
    });
    const code = await new Promise<number | null>((resolve) => refused.child.once('exit', resolve));
    expect(code).toBe(78);
    expect(refused.output()).toContain('PALISADE_PASSWORDS_URL');
    expect(refused.output()).not.toContain(APP_PASSWORD);
  });

  test('neither the secret nor the app password appears in the broker log', () => {
    const log = broker.output();
    for (const value of [
      SECRET,
      APP_PASSWORD,
      Buffer.from(SECRET).toString('base64'),
      Buffer.from(APP_PASSWORD).toString('hex'),
    ]) {
      expect(log).not.toContain(value);
    }
  });
});
