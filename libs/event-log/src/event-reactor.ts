// A reactor turns events into actions (start a turn, post a reply) without a read model: it pulls the
// service's pre-created durable consumer on EVENTS and acknowledges each message once its handler
// returned. Delivery is at-least-once, so handlers must be idempotent — the usual way is to claim the
// work with an expected-sequence append (e.g. `agent.turn.started` at the message's sequence), which
// only one delivery or replica can win. Handlers should start long work and return quickly: messages
// are handled in order, one at a time.
//
// Deferred acknowledgement (`deferAck: true`): the handler gets the message's `Delivery` and settles
// it itself — `ack()` once the work is safely recorded, `working()` while it is still running (resets
// the consumer's ack wait so the message is not handed to another puller), `nak()` to have it
// redelivered. If the process dies before settling, JetStream redelivers the message after the
// consumer's ack wait: work started but never recorded is not lost. A handler that throws is nak'd.
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EVENTS_STREAM, type PalisadeEvent } from '@palisade/contracts';
import { parseStoredEvent } from './event-store';

/** One delivery of a message to a deferred-ack handler. Settling twice is harmless (first wins). */
export interface Delivery {
  readonly seq: number;
  /** 1 on the first delivery; more when the message was redelivered (nak, ack wait expired). */
  readonly deliveryCount: number;
  readonly settled: boolean;
  ack(): void;
  /** Still working: restarts the consumer's ack wait. Ignored once settled. */
  working(): void;
  /** Hand the message back for redelivery after `delayMs`. */
  nak(delayMs?: number): void;
  /** Calls `working()` every `everyMs` until settled; returns a function that stops it. */
  keepAlive(everyMs: number): () => void;
}

export interface ReactorHandler {
  /** Event types handled; others are acknowledged and skipped. */
  types: readonly string[];
  /**
   * The handler settles the message itself through the `Delivery` (see the head of this file).
   * At most one handler per event type may defer.
   */
  deferAck?: boolean;
  handle(event: PalisadeEvent, seq: number, delivery?: Delivery): Promise<void>;
}

/** A `Delivery` over a JetStream message. */
export function deliveryOf(msg: Pick<JsMsg, 'seq' | 'info' | 'ack' | 'nak' | 'working'>): Delivery {
  let settled = false;
  const settle = (fn: () => void) => {
    if (settled) return;
    settled = true;
    fn();
  };
  const delivery: Delivery = {
    seq: msg.seq,
    deliveryCount: msg.info.deliveryCount,
    get settled() {
      return settled;
    },
    ack: () => settle(() => msg.ack()),
    nak: (delayMs?: number) => settle(() => msg.nak(delayMs)),
    working: () => {
      if (!settled) msg.working();
    },
    keepAlive: (everyMs: number) => {
      const timer = setInterval(() => {
        if (settled) clearInterval(timer);
        else msg.working();
      }, everyMs);
      timer.unref?.();
      return () => clearInterval(timer);
    },
  };
  return delivery;
}

export interface EventReactorOptions {
  durable: string;
  stream?: string;
  handlers: ReactorHandler[];
  /** Events older than this are acknowledged without action (e.g. a backlog from long ago). */
  maxAgeMs?: number;
  /** Deliveries of a message whose handler keeps failing before it is given up (default 5). */
  maxDeliveries?: number;
  log?: (message: string) => void;
}

export class EventReactor {
  private running = false;
  private loop?: Promise<void>;
  private lastSeq = 0;
  private readonly types: Set<string>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: EventReactorOptions,
  ) {
    this.types = new Set(options.handlers.flatMap((h) => h.types));
  }

  /** Stream sequence of the last message handled (or skipped). */
  get position(): number {
    return this.lastSeq;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Stops fetching and waits for the message in hand, but not forever: at service shutdown the NATS
   * connection may already be draining, and a fetch on it need not settle — a shutdown hook that
   * hangs here would keep the service from its own cleanup (sandbox-exec removing its containers).
   */
  async stop(waitMs = 3_000): Promise<void> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.loop?.catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        const consumer = await jetstream(this.nc).consumers.get(
          this.options.stream ?? EVENTS_STREAM,
          this.options.durable,
        );
        while (this.running) {
          const batch = await consumer.fetch({ max_messages: 256, expires: 1_000 });
          for await (const msg of batch) {
            const delivery = deliveryOf(msg);
            const ok = await this.dispatch(msg.seq, msg.data, msg.subject, delivery);
            // A failed handler gets the message again a little later (a few times, then it is dropped
            // with a log line so one poison event cannot block the service forever). A deferred
            // handler that returned owns the message: it settles it itself.
            if (ok === 'deferred') {
              // settled by the handler, now or later
            } else if (ok || msg.info.deliveryCount >= (this.options.maxDeliveries ?? 5)) {
              if (!ok)
                this.options.log?.(
                  `reactor ${this.options.durable}: giving up on ${msg.subject} at ${msg.seq} after ${msg.info.deliveryCount} deliveries`,
                );
              delivery.ack();
            } else delivery.nak(500);
            this.lastSeq = msg.seq;
          }
          backoff = 100;
        }
      } catch (error) {
        // A connection that is closing will not come back: nothing to retry.
        if (!this.running || this.nc.isClosed() || this.nc.isDraining()) return;
        this.options.log?.(
          `reactor ${this.options.durable}: ${(error as Error).message}; retrying in ${backoff} ms`,
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private async dispatch(
    seq: number,
    data: Uint8Array,
    subject: string,
    delivery: Delivery,
  ): Promise<boolean | 'deferred'> {
    let event: PalisadeEvent;
    try {
      event = parseStoredEvent(new TextDecoder().decode(data), seq);
    } catch (error) {
      // Not ours to halt on (the ledger halts and alerts); a reactor must keep serving the rest.
      this.options.log?.(
        `reactor ${this.options.durable}: skipping unparseable ${subject} at ${seq}: ${(error as Error).message}`,
      );
      return true;
    }
    if (!this.types.has(event.type)) return true;
    if (this.options.maxAgeMs !== undefined && Date.now() - Date.parse(event.time) > this.options.maxAgeMs)
      return true;
    let ok = true;
    let deferred = false;
    for (const handler of this.options.handlers) {
      if (!handler.types.includes(event.type)) continue;
      try {
        if (handler.deferAck) {
          deferred = true;
          await handler.handle(event, seq, delivery);
        } else await handler.handle(event, seq);
      } catch (error) {
        this.options.log?.(
          `reactor ${this.options.durable}: ${event.type} at ${seq} failed: ${(error as Error).message}`,
        );
        ok = false;
      }
    }
    // A throwing handler (deferred or not) means redelivery, unless the deferred one already settled.
    if (deferred && (ok || delivery.settled)) return 'deferred';
    return ok;
  }
}
