// Delivers channels.outbox rows through Talk's signed bot reply endpoint, in order, once.
// - One replica at a time drains a channel (PostgreSQL advisory lock on a dedicated connection).
// - A row is marked `sending` before the POST; a row found `sending` later was interrupted mid-flight
//   and is never re-sent (it may have arrived): "at most once" beats a duplicate.
// - 401 means a wrong secret (or the bot was removed from the room). Every 401 counts towards
//   Nextcloud's brute-force ban of our IP (10 in 30 min → every bot request gets 429), so the channel's
//   circuit opens at the first one: nothing more is sent, an error is logged and channel.reply.failed
//   appended, and a single probe is tried after a growing pause (5 min default, doubling up to 1 h).
// - 429 (rate limit / ban): pause for Retry-After (or a growing default). 5xx / network: retry later.
// - 400 with a replyTo: sent once more without it (Talk refuses a replyTo from another room); else failed.
// - Messages over 32,000 characters are split before sending; parts already delivered are remembered.
import { createHash } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import { channelIdOf, createEvent } from '@palisade/contracts';
import type { EventStore } from '@palisade/event-log';
import type { ChannelRuntime } from '../channel-registry';
import { signReply, splitMessage, talkReplyTo } from '../talk/talk-protocol';

export interface DeliveryOptions {
  maxAgeMs: number;
  probeBaseMs: number;
  log: { warn(message: string): void; error(message: string): void; log(message: string): void };
  /** Attempts for transient failures (5xx, network) before a reply is given up. */
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

interface ChannelDeliveryState {
  circuitOpen: boolean;
  circuitReason?: string;
  nextProbeAt: number;
  probeDelayMs: number;
  /** No request before this time (429 Retry-After, transient failures). */
  pausedUntil: number;
  transientDelayMs: number;
  lastError?: string;
  lastErrorAt?: string;
  delivered: number;
}

interface OutboxRow {
  event_id: string;
  channel: string;
  conversation: string;
  text: string;
  in_reply_to: string | null;
  correlation_id: string;
  event_time: Date;
  parts_sent: number;
  attempts: number;
}

type Outcome = 'next' | 'stop';

const MAX_PROBE_DELAY_MS = 60 * 60 * 1000;
const MAX_PAUSE_MS = 10 * 60 * 1000;

export class ReplyDelivery {
  private readonly states = new Map<string, ChannelDeliveryState>();
  private readonly draining = new Set<string>();
  private readonly again = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly db: DataSource,
    private readonly store: EventStore,
    private readonly channels: Map<string, ChannelRuntime>,
    private readonly options: DeliveryOptions,
  ) {
    for (const name of channels.keys()) this.states.set(name, this.freshState());
  }

  start(): void {
    // Picks up rows another replica committed while this one held no trigger, and due probes.
    this.timer = setInterval(() => this.kickAll(), 2_000);
    this.timer.unref();
    this.kickAll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.draining.size) await new Promise((r) => setTimeout(r, 20));
  }

  kickAll(): void {
    for (const name of this.channels.keys()) this.kick(name);
  }

  kick(channel: string): void {
    if (this.stopped || !this.channels.has(channel)) return;
    if (this.draining.has(channel)) {
      this.again.add(channel);
      return;
    }
    this.draining.add(channel);
    void (async () => {
      try {
        do {
          this.again.delete(channel);
          await this.drain(channel);
        } while (this.again.has(channel) && !this.stopped);
      } catch (error) {
        this.options.log.warn(`channel ${channel}: delivery pass failed: ${(error as Error).message}`);
      } finally {
        this.draining.delete(channel);
      }
    })();
  }

  health(): Record<string, { ok: boolean; detail?: string }> {
    const out: Record<string, { ok: boolean; detail?: string }> = {};
    for (const [name, s] of this.states) {
      if (s.circuitOpen) {
        out[`channel:${name}`] = {
          ok: false,
          detail: `reply circuit open (${s.circuitReason}); next probe ${new Date(s.nextProbeAt).toISOString()}`,
        };
      } else {
        const last = s.lastError ? `; last error ${s.lastErrorAt}: ${s.lastError}` : '';
        out[`channel:${name}`] = { ok: true, detail: `ok, ${s.delivered} replies delivered${last}` };
      }
    }
    return out;
  }

  private freshState(): ChannelDeliveryState {
    return {
      circuitOpen: false,
      nextProbeAt: 0,
      probeDelayMs: this.options.probeBaseMs,
      pausedUntil: 0,
      transientDelayMs: 1_000,
      delivered: 0,
    };
  }

  private state(channel: string): ChannelDeliveryState {
    let s = this.states.get(channel);
    if (!s) this.states.set(channel, (s = this.freshState()));
    return s;
  }

  private async drain(channel: string): Promise<void> {
    const s = this.state(channel);
    const now = Date.now();
    if (s.circuitOpen && now < s.nextProbeAt) return;
    if (now < s.pausedUntil) return;
    const qr = this.db.createQueryRunner();
    await qr.connect();
    const lockKey = `palisade.channels.outbox:${channel}`;
    try {
      const [{ locked }] = await qr.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [lockKey]);
      if (!locked) return; // another replica is draining this channel
      try {
        const orphans = (
          await qr.query(
            `UPDATE channels.outbox SET status = 'unknown', updated_at = now()
             WHERE channel = $1 AND status = 'sending' RETURNING *`,
            [channel],
            true,
          )
        ).records as OutboxRow[];
        for (const row of orphans) {
          await this.failed(
            row,
            'delivery was interrupted (restart?); not sent again to avoid a duplicate',
            'unknown',
            qr,
            false,
          );
        }
        for (;;) {
          const rows: OutboxRow[] = await qr.query(
            `SELECT * FROM channels.outbox WHERE channel = $1 AND status = 'pending' ORDER BY seq LIMIT 20`,
            [channel],
          );
          if (!rows.length || this.stopped) return;
          for (const row of rows) {
            if ((await this.deliver(qr, row)) === 'stop') return;
          }
        }
      } finally {
        await qr.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => undefined);
      }
    } finally {
      await qr.release();
    }
  }

  private async deliver(qr: QueryRunner, row: OutboxRow): Promise<Outcome> {
    const ch = this.channels.get(row.channel)!;
    const s = this.state(row.channel);
    if (Date.now() - new Date(row.event_time).getTime() > this.options.maxAgeMs) {
      await qr.query(
        `UPDATE channels.outbox SET status = 'expired', updated_at = now() WHERE event_id = $1`,
        [row.event_id],
      );
      this.options.log.warn(`channel ${row.channel}: reply ${row.event_id} is too old to deliver; dropped`);
      return 'next';
    }
    const parts = splitMessage(row.text);
    if (!parts.length) {
      await this.failed(row, 'empty message', 'failed', qr);
      return 'next';
    }
    await qr.query(
      `UPDATE channels.outbox SET status = 'sending', attempts = attempts + 1, updated_at = now() WHERE event_id = $1`,
      [row.event_id],
    );
    const replyTo = talkReplyTo(row.in_reply_to ?? undefined);
    for (let i = row.parts_sent; i < parts.length; i++) {
      const referenceId = createHash('sha256').update(`${row.event_id}:${i}`).digest('hex');
      let res = await this.post(ch, row.conversation, parts[i], i === 0 ? replyTo : undefined, referenceId);
      if (res.status === 400 && i === 0 && replyTo !== undefined) {
        res = await this.post(ch, row.conversation, parts[i], undefined, referenceId);
      }
      if (res.status === 201 || res.status === 200) {
        await qr.query(`UPDATE channels.outbox SET parts_sent = $2, updated_at = now() WHERE event_id = $1`, [
          row.event_id,
          i + 1,
        ]);
        continue;
      }
      const detail = `HTTP ${res.status || 'error'}${res.error ? ` ${res.error}` : ''}`;
      s.lastError = detail;
      s.lastErrorAt = new Date().toISOString();
      if (res.status === 401) {
        const wasOpen = s.circuitOpen;
        s.probeDelayMs = wasOpen
          ? Math.min(s.probeDelayMs * 2, MAX_PROBE_DELAY_MS)
          : this.options.probeBaseMs;
        s.circuitOpen = true;
        s.circuitReason =
          'HTTP 401: signature rejected — wrong bot secret, or the bot is not in that conversation';
        s.nextProbeAt = Date.now() + s.probeDelayMs;
        await this.requeue(qr, row, detail);
        this.options.log.error(
          `channel ${row.channel}: Talk answered 401 to a signed reply — replies to this channel are paused ` +
            `(Nextcloud bans the IP after 10 failures); check the bot secret. Next probe in ${Math.round(s.probeDelayMs / 1000)} s`,
        );
        await this.appendFailed(
          row,
          `${s.circuitReason}; replies paused, next probe in ${Math.round(s.probeDelayMs / 1000)} s`,
        );
        return 'stop';
      }
      if (res.status === 429) {
        const wait = res.retryAfterMs ?? s.transientDelayMs;
        s.transientDelayMs = Math.min(s.transientDelayMs * 2, MAX_PAUSE_MS);
        s.pausedUntil = Date.now() + Math.min(wait, MAX_PAUSE_MS);
        await this.requeue(qr, row, detail);
        this.options.log.warn(
          `channel ${row.channel}: Talk answered 429; pausing replies for ${Math.round(wait / 1000)} s`,
        );
        return 'stop';
      }
      if (res.status === 0 || res.status >= 500) {
        if (row.attempts + 1 >= (this.options.maxAttempts ?? 5)) {
          await this.failed(row, `${detail} after ${row.attempts + 1} attempts`, 'failed', qr);
          return 'next';
        }
        s.pausedUntil = Date.now() + s.transientDelayMs;
        s.transientDelayMs = Math.min(s.transientDelayMs * 2, MAX_PAUSE_MS);
        await this.requeue(qr, row, detail);
        this.options.log.warn(`channel ${row.channel}: reply failed (${detail}); retrying later`);
        return 'stop';
      }
      // 400, 404, 413 …: this reply cannot be delivered as it is.
      await this.failed(row, detail, 'failed', qr);
      return 'next';
    }
    await qr.query(
      `UPDATE channels.outbox SET status = 'sent', last_error = NULL, updated_at = now() WHERE event_id = $1`,
      [row.event_id],
    );
    if (s.circuitOpen) this.options.log.log(`channel ${row.channel}: reply delivered again; circuit closed`);
    s.circuitOpen = false;
    s.circuitReason = undefined;
    s.probeDelayMs = this.options.probeBaseMs;
    s.transientDelayMs = 1_000;
    s.delivered++;
    return 'next';
  }

  private async requeue(qr: QueryRunner, row: OutboxRow, error: string): Promise<void> {
    await qr.query(
      `UPDATE channels.outbox SET status = 'pending', last_error = $2, updated_at = now() WHERE event_id = $1`,
      [row.event_id, error],
    );
  }

  private async failed(
    row: OutboxRow,
    reason: string,
    status: 'failed' | 'unknown',
    qr: QueryRunner,
    update = true,
  ): Promise<void> {
    if (update) {
      await qr.query(
        `UPDATE channels.outbox SET status = $2, last_error = $3, updated_at = now() WHERE event_id = $1`,
        [row.event_id, status, reason],
      );
    }
    this.options.log.warn(`channel ${row.channel}: reply ${row.event_id} not delivered: ${reason}`);
    await this.appendFailed(row, reason);
  }

  private async appendFailed(row: OutboxRow, reason: string): Promise<void> {
    const event = createEvent({
      type: 'channel.reply.failed',
      source: 'channels',
      aggregateId: channelIdOf(row.channel),
      data: {
        channel: row.channel,
        conversation: row.conversation,
        reason: reason.slice(0, 4000),
        ...(row.in_reply_to ? { inReplyTo: row.in_reply_to } : {}),
      },
      correlationId: row.correlation_id,
      causationId: row.event_id,
      actor: { type: 'service', id: 'channels' },
      trust: 'trusted',
    });
    await this.store
      .append(event)
      .catch((error: Error) => this.options.log.warn(`cannot append channel.reply.failed: ${error.message}`));
  }

  private async post(
    ch: ChannelRuntime,
    conversation: string,
    message: string,
    replyTo: number | undefined,
    referenceId: string,
  ): Promise<{ status: number; retryAfterMs?: number; error?: string }> {
    const { random, signature } = signReply(ch.secret, message);
    const url = `${ch.baseUrl}/ocs/v2.php/apps/spreed/api/v1/bot/${encodeURIComponent(conversation)}/message`;
    try {
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 15_000),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'OCS-APIRequest': 'true',
          'X-Nextcloud-Talk-Bot-Random': random,
          'X-Nextcloud-Talk-Bot-Signature': signature,
        },
        body: JSON.stringify({ message, referenceId, ...(replyTo !== undefined ? { replyTo } : {}) }),
      });
      await res.arrayBuffer().catch(() => undefined);
      return { status: res.status, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
    } catch (error) {
      return { status: 0, error: (error as Error).message };
    }
  }
}

function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
