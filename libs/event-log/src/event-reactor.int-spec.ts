// EventReactor's deferred acknowledgement against real NATS JetStream, on a scratch stream and scratch
// durables (ack wait 2 s) created as admin and deleted afterwards — never EVENTS.
import { randomBytes } from 'node:crypto';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createEvent, type PalisadeEvent, uuidv7 } from '@palisade/contracts';
import { connectAs, waitFor } from '@palisade/testing';
import { type Delivery, EventReactor } from './event-reactor';

const rand = () => randomBytes(4).toString('hex');
const ACK_WAIT_MS = 2_000;

describe('EventReactor deferred ack (real JetStream, scratch stream)', () => {
  let admin: NatsConnection;
  const streams: string[] = [];
  const reactors: EventReactor[] = [];

  async function scratch(): Promise<{ stream: string; durable: string; publish: () => Promise<number> }> {
    const id = rand();
    const stream = `TREA_${id}`;
    const jsm = await jetstreamManager(admin);
    await jsm.streams.add({
      name: stream,
      subjects: [`trea${id}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
    });
    streams.push(stream);
    const durable = `d_${id}`;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ACK_WAIT_MS * 1_000_000,
      max_ack_pending: 1000,
      max_deliver: -1,
    });
    const publish = async () => {
      const session = uuidv7();
      const event = createEvent({
        type: 'chat.message.received',
        source: 'channels',
        aggregateId: session,
        data: { channel: 'talk-test', conversation: 'r', sender: 'bob', messageId: uuidv7(), text: 'hi', level: 'execute' },
        actor: { type: 'sender', id: 'bob' },
        trust: 'untrusted',
      });
      return (await jetstream(admin).publish(`trea${id}.session.${session}`, JSON.stringify(event))).seq;
    };
    return { stream, durable, publish };
  }

  const pending = async (stream: string, durable: string) => {
    const info = await (await jetstreamManager(admin)).consumers.info(stream, durable);
    return { ackPending: info.num_ack_pending, redelivered: info.num_redelivered, ackFloor: info.ack_floor.stream_seq };
  };

  function reactor(
    stream: string,
    durable: string,
    handle: (event: PalisadeEvent, seq: number, delivery?: Delivery) => Promise<void>,
  ): EventReactor {
    const r = new EventReactor(admin, {
      durable,
      stream,
      handlers: [{ types: ['chat.message.received'], deferAck: true, handle }],
    });
    reactors.push(r);
    r.start();
    return r;
  }

  beforeAll(async () => {
    admin = await connectAs('admin');
  });

  afterEach(async () => {
    for (const r of reactors.splice(0)) await r.stop();
  });

  afterAll(async () => {
    for (const r of reactors.splice(0)) await r.stop();
    if (admin) {
      const jsm = await jetstreamManager(admin);
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
      await admin.close();
    }
  });

  test('the message stays unacknowledged until the handler acks it, then is not delivered again', async () => {
    const s = await scratch();
    const seq = await s.publish();
    const deliveries: Delivery[] = [];
    reactor(s.stream, s.durable, async (_e, _seq, d) => {
      deliveries.push(d!);
    });
    await waitFor('first delivery', () => deliveries.length === 1 || undefined);
    // The handler returned, but nothing acked: the message is still pending on the consumer.
    expect(await pending(s.stream, s.durable)).toMatchObject({ ackPending: 1, ackFloor: seq - 1 });
    deliveries[0].working(); // an in-progress heartbeat is not an ack
    expect((await pending(s.stream, s.durable)).ackPending).toBe(1);
    deliveries[0].ack();
    await waitFor('acked', async () => ((await pending(s.stream, s.durable)).ackPending === 0 ? true : undefined));
    expect((await pending(s.stream, s.durable)).ackFloor).toBe(seq);
    // Past the ack wait nothing comes back; settling twice is harmless.
    deliveries[0].nak();
    await new Promise((r) => setTimeout(r, ACK_WAIT_MS + 1_000));
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].settled).toBe(true);
  });

  test('nak hands the message back: it is redelivered with a higher delivery count', async () => {
    const s = await scratch();
    const seq = await s.publish();
    const deliveries: Delivery[] = [];
    reactor(s.stream, s.durable, async (_e, _seq, d) => {
      deliveries.push(d!);
      if (d!.deliveryCount === 1) d!.nak(100);
      else d!.ack();
    });
    await waitFor('redelivery', () => deliveries.length === 2 || undefined);
    expect(deliveries.map((d) => [d.seq, d.deliveryCount])).toEqual([
      [seq, 1],
      [seq, 2],
    ]);
    await waitFor('acked', async () => ((await pending(s.stream, s.durable)).ackPending === 0 ? true : undefined));
  });

  test('a handler that throws is nak-ed and gets the message again', async () => {
    const s = await scratch();
    await s.publish();
    const counts: number[] = [];
    reactor(s.stream, s.durable, async (_e, _seq, d) => {
      counts.push(d!.deliveryCount);
      if (d!.deliveryCount < 3) throw new Error('not yet');
      d!.ack();
    });
    await waitFor('third delivery', () => counts.length === 3 || undefined, 20_000);
    expect(counts).toEqual([1, 2, 3]);
  });

  test('in-progress heartbeats keep a long-running message from being redelivered past the ack wait', async () => {
    const s = await scratch();
    await s.publish();
    const deliveries: Delivery[] = [];
    reactor(s.stream, s.durable, async (_e, _seq, d) => {
      deliveries.push(d!);
      d!.keepAlive(ACK_WAIT_MS / 4);
    });
    await waitFor('first delivery', () => deliveries.length === 1 || undefined);
    // Three ack waits long, still working: no second delivery.
    await new Promise((r) => setTimeout(r, ACK_WAIT_MS * 3));
    expect(deliveries).toHaveLength(1);
    expect((await pending(s.stream, s.durable)).redelivered).toBe(0);
    deliveries[0].ack();
  });

  test('a handler that dies without settling: the message is redelivered to the next reactor', async () => {
    const s = await scratch();
    const seq = await s.publish();
    const first: Delivery[] = [];
    const dead = reactor(s.stream, s.durable, async (_e, _seq, d) => {
      first.push(d!); // took the work, never settles: the owner "crashes"
    });
    await waitFor('first delivery', () => first.length === 1 || undefined);
    await dead.stop();
    const second: Delivery[] = [];
    reactor(s.stream, s.durable, async (_e, _seq, d) => {
      second.push(d!);
      d!.ack();
    });
    await waitFor('redelivered after the ack wait', () => second.length === 1 || undefined, ACK_WAIT_MS * 5);
    expect(second[0]).toMatchObject({ seq, deliveryCount: 2 });
    await waitFor('acked', async () => ((await pending(s.stream, s.durable)).ackPending === 0 ? true : undefined));
    expect(first).toHaveLength(1);
  });
});
