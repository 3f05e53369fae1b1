// Least privilege, proven against the real nats-server with the generated authorization config.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, NatsConnection } from '@nats-io/transport-node';
import { connectAs, waitFor } from '@palisade/testing';
import { randomUUID } from 'node:crypto';
import { COMMAND_TOKEN, SERVICE_GRANTS, SERVICE_NAMES, ServiceName } from './permissions.manifest';
import { NatsRpcClient } from './rpc.client';
import { RpcError } from '@palisade/contracts';

const id = () => randomUUID().replace(/-/g, '');

/**
 * Publishes to an EVENTS subject with an expected last sequence that cannot match: an allowed publish
 * reaches JetStream and is refused with "wrong last sequence" (so nothing is appended to the append-only
 * stream); a forbidden one is stopped by the server's permissions before JetStream sees it.
 */
async function probeAppend(nc: NatsConnection, subject: string): Promise<'allowed' | 'denied'> {
  const hdrs = headers();
  hdrs.set('Nats-Expected-Last-Subject-Sequence', '999999999');
  try {
    await jetstream(nc).publish(subject, '{}', { headers: hdrs, timeout: 3_000 });
    throw new Error(`append on ${subject} unexpectedly succeeded`);
  } catch (error) {
    const text = `${(error as Error).message} ${(error as { cause?: Error }).cause?.message ?? ''}`;
    if (/permissions violation/i.test(text)) return 'denied';
    if (/wrong last sequence/i.test(text)) return 'allowed';
    throw error;
  }
}

describe('NATS least privilege (real nats-server)', () => {
  const connections: NatsConnection[] = [];
  const as = async (user: string) => {
    const nc = await connectAs(user);
    connections.push(nc);
    return nc;
  };
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
  });

  test.each(SERVICE_NAMES.map((s) => [s]))('%s appends only its own aggregates', async (service) => {
    const nc = await as(service);
    const own: readonly string[] = SERVICE_GRANTS[service as ServiceName].appends;
    for (const aggregate of own) expect(await probeAppend(nc, `evt.${aggregate}.${id()}`)).toBe('allowed');
    const foreign = [
      'session',
      'approval',
      'exec',
      'grant',
      'cronjob',
      'credential',
      'apikey',
      'agent',
      'ledger',
      'sender',
    ].filter((a) => !own.includes(a));
    expect(foreign.length).toBeGreaterThan(0);
    for (const aggregate of foreign) expect(await probeAppend(nc, `evt.${aggregate}.${id()}`)).toBe('denied');
  });

  test('a service cannot call commands it was not granted; the violation reaches the caller typed', async () => {
    const nc = await as('approvals');
    const rpc = new NatsRpcClient(nc, 2_000);
    await expect(rpc.request('cmd.sandbox.run', { command: 'id' })).rejects.toMatchObject({
      code: 'permission_violation',
    });
    await expect(rpc.request('cmd.broker.fetch', { entry: 'x' })).rejects.toBeInstanceOf(RpcError);
    // llm-router may call the broker, channels may not.
    const llm = new NatsRpcClient(await as('llm-router'), 500);
    await expect(llm.request('cmd.broker.fetch', {})).rejects.toMatchObject({
      code: expect.stringMatching(/unavailable|timeout/),
    });
    const channels = new NatsRpcClient(await as('channels'), 500);
    await expect(channels.request('cmd.broker.fetch', {})).rejects.toMatchObject({
      code: 'permission_violation',
    });
  });

  test('a service cannot subscribe to commands of another service nor read its replies', async () => {
    for (const [service, victim] of [
      ['gateway', 'approvals'],
      ['channels', 'gateway'],
      ['cron', 'llm-router'],
    ] as const) {
      const errors: string[] = [];
      const nc = await connectAs(service, (e) => errors.push(e.message));
      connections.push(nc);
      const subs = [
        nc.subscribe(`_INBOX.${victim}.>`),
        nc.subscribe(`cmd.${COMMAND_TOKEN[victim]}.>`),
        nc.subscribe('_INBOX.>'),
      ];
      const outcomes = subs.map(async (sub) => {
        try {
          for await (const _ of sub) return 'message';
          return 'closed';
        } catch (error) {
          return (error as Error).message;
        }
      });
      await nc.flush();
      const results = await Promise.all(outcomes);
      for (const result of results) expect(result).toMatch(/Permissions Violation for Subscription/);
    }
  });

  test('replies go to the caller only: another principal cannot subscribe to them', async () => {
    // A real request from gateway to approvals' health subject uses gateway's private inbox prefix.
    const gateway = await as('gateway');
    const spyErrors: string[] = [];
    const spy = await connectAs('approvals', (e) => spyErrors.push(e.message));
    connections.push(spy);
    const sub = spy.subscribe('_INBOX.gateway.>');
    const outcome = (async () => {
      try {
        for await (const _ of sub) return 'read a reply';
        return 'closed';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    await expect(outcome).resolves.toMatch(/Permissions Violation/);
    expect(gateway.isClosed()).toBe(false);
  });

  test('only the ledger may publish on audit.>', async () => {
    const ledger = await as('ledger');
    const subject = `audit.test.${id()}`;
    expect(await probeAppend(ledger, subject)).toBe('allowed');
    for (const service of SERVICE_NAMES.filter((s) => s !== 'ledger')) {
      expect(await probeAppend(await as(service), subject)).toBe('denied');
    }
    expect(await probeAppend(await as('soc'), subject)).toBe('denied');
  });

  test('no service can create or delete consumers or destroy streams and messages', async () => {
    for (const service of SERVICE_NAMES) {
      const nc = await as(service);
      for (const subject of [
        '$JS.API.STREAM.DELETE.EVENTS',
        '$JS.API.STREAM.PURGE.EVENTS',
        '$JS.API.STREAM.UPDATE.EVENTS',
        '$JS.API.STREAM.MSG.DELETE.EVENTS',
        '$JS.API.CONSUMER.CREATE.EVENTS',
        `$JS.API.CONSUMER.DURABLE.CREATE.EVENTS.${service}-2`,
        `$JS.API.CONSUMER.DELETE.EVENTS.${service}`,
      ]) {
        await expect(nc.request(subject, '{}', { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/);
      }
    }
  });

  test('a service reads its own durable consumer but not another service’s', async () => {
    const nc = await as('cron');
    const js = jetstream(nc);
    const own = await js.consumers.get('EVENTS', 'cron');
    expect((await own.info()).name).toBe('cron');
    await expect(
      nc.request('$JS.API.CONSUMER.MSG.NEXT.EVENTS.ledger', '{"batch":1}', { timeout: 2_000 }),
    ).rejects.toThrow(/Permissions Violation/);
    await expect(nc.request('$JS.API.CONSUMER.INFO.EVENTS.gateway', '', { timeout: 2_000 })).rejects.toThrow(
      /Permissions Violation/,
    );
  });

  describe('the read-only soc principal', () => {
    test('receives the live audit feed and can replay through its durable consumer', async () => {
      const soc = await as('soc');
      const ledger = await as('ledger');
      const marker = id();
      const live = soc.subscribe('audit.>');
      await soc.flush();
      // The ledger appends to AUDIT (captured by the stream) — a real, valid audit-stream message.
      await jetstream(ledger).publish(`audit.test.permissions`, JSON.stringify({ marker }), {
        msgID: marker,
      });
      const got = await waitFor('live audit message', async () => {
        for await (const msg of live) if (msg.string().includes(marker)) return msg.subject;
        return undefined;
      });
      expect(got).toBe('audit.test.permissions');
      const consumer = await jetstream(soc).consumers.get('AUDIT', 'soc');
      // The durable may hold a long backlog from earlier suites: read in batches until the marker.
      let seen = false;
      while (!seen) {
        let got = 0;
        for await (const msg of await consumer.fetch({ max_messages: 1_000, expires: 2_000 })) {
          got++;
          if (msg.string().includes(marker)) seen = true;
          msg.ack();
        }
        if (!got) break;
      }
      expect(seen).toBe(true);
    });

    test('cannot publish, create or delete consumers, or touch streams', async () => {
      const soc = await as('soc');
      for (const subject of ['evt.session.x', 'audit.forged', 'cmd.approvals.decide', 'health.gateway']) {
        expect(await probeAppend(soc, subject).catch(() => 'denied')).toBe('denied');
      }
      for (const subject of [
        '$JS.API.CONSUMER.CREATE.AUDIT',
        '$JS.API.CONSUMER.DURABLE.CREATE.AUDIT.soc2',
        '$JS.API.CONSUMER.DELETE.AUDIT.soc',
        '$JS.API.STREAM.DELETE.AUDIT',
        '$JS.API.STREAM.PURGE.AUDIT',
        '$JS.API.STREAM.MSG.DELETE.AUDIT',
        '$JS.API.STREAM.INFO.EVENTS',
        '$JS.API.STREAM.MSG.GET.EVENTS',
        '$JS.API.CONSUMER.MSG.NEXT.EVENTS.ledger',
      ]) {
        await expect(soc.request(subject, '{}', { timeout: 2_000 })).rejects.toThrow(/Permissions Violation/);
      }
      await expect(
        (async () => {
          const sub = soc.subscribe('evt.>');
          for await (const _ of sub) return 'message';
          return 'closed';
        })(),
      ).rejects.toThrow(/Permissions Violation for Subscription/);
    });
  });

  test('even admin cannot purge the append-only streams or delete a message', async () => {
    const admin = await as('admin');
    const jsm = await jetstreamManager(admin);
    const info = await jsm.streams.info('EVENTS');
    expect(info.config).toMatchObject({
      deny_delete: true,
      deny_purge: true,
      allow_rollup_hdrs: false,
      discard: 'new',
    });
    await expect(jsm.streams.purge('EVENTS')).rejects.toThrow(/purge not permitted/i);
    await expect(jsm.streams.purge('AUDIT')).rejects.toThrow(/purge not permitted/i);
    const audit = await jsm.streams.info('AUDIT');
    await expect(jsm.streams.deleteMessage('AUDIT', audit.state.first_seq)).rejects.toThrow(
      /delete not permitted/i,
    );
  });
});
