// Creates the append-only streams and every durable consumer, as the admin principal.
// Services cannot create consumers (their NATS permissions deny the consumer-create API).
import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AUDIT_STREAM, durableFor, EVENTS_STREAM, SERVICE_NAMES, SOC_CONSUMER } from '@palisade/nats';

export function appendOnlyStream(name: string, subjects: string[], replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    // Append-only: nobody (not even admin through the API) can delete or purge messages, and no
    // rollup header can collapse history. A full stream refuses new messages instead of dropping old ones.
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
    discard: DiscardPolicy.New,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    duplicate_window: 2 * 60 * 1_000_000_000, // ns: Nats-Msg-Id de-duplication window
    num_replicas: replicas,
    allow_direct: true,
  };
}

export async function setupStreams(nc: NatsConnection, replicas = 1): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const done: string[] = [];
  for (const [name, subjects] of [
    [EVENTS_STREAM, ['evt.>']],
    [AUDIT_STREAM, ['audit.>']],
  ] as const) {
    const wanted = appendOnlyStream(name, [...subjects], replicas);
    try {
      await jsm.streams.info(name);
      done.push(`stream ${name} exists`);
    } catch {
      await jsm.streams.add(wanted);
      done.push(`stream ${name} created`);
    }
  }
  for (const service of SERVICE_NAMES) {
    await ensureConsumer(nc, EVENTS_STREAM, durableFor(service));
    done.push(`consumer ${EVENTS_STREAM}/${durableFor(service)}`);
  }
  await ensureConsumer(nc, AUDIT_STREAM, SOC_CONSUMER);
  done.push(`consumer ${AUDIT_STREAM}/${SOC_CONSUMER}`);
  return done;
}

export async function ensureConsumer(nc: NatsConnection, stream: string, durable: string, optStartSeq?: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(stream, durable);
    return;
  } catch {
    // not there yet
  }
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: optStartSeq ? DeliverPolicy.StartSequence : DeliverPolicy.All,
    ...(optStartSeq ? { opt_start_seq: optStartSeq } : {}),
    ack_wait: 30 * 1_000_000_000,
    max_ack_pending: 1000,
    max_deliver: -1,
  });
}
