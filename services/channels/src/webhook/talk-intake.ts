// Inbound Talk webhooks: authenticate (before parsing), guard against replays, answer at once, then
// decide asynchronously — per session in arrival order — what the message becomes.
import type { DataSource } from 'typeorm';
import {
  APPROVALS_DECIDE,
  ApprovalsDecideRequest,
  channelIdOf,
  createEvent,
  senderIdOf,
  sessionIdOf,
  trustOfSenderLevel,
} from '@palisade/contracts';
import { ConcurrencyError, type EventStore } from '@palisade/event-log';
import type { NatsRpcClient } from '@palisade/nats';
import { AuditLimiter } from '../audit-limiter';
import type { ChannelRuntime } from '../channel-registry';
import { foldSender } from '../senders/sender-state';
import {
  parseApprovalCommand,
  parseTalkActivity,
  TalkMessage,
  verifyTalkWebhook,
} from '../talk/talk-protocol';

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface IntakeLog {
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

const NAME_MAX = 256;
const clip = (s: string | undefined, n = NAME_MAX): string | undefined =>
  s === undefined ? undefined : [...s].slice(0, n).join('');

export class TalkIntake {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly limiter: AuditLimiter;
  private inFlight = 0;

  constructor(
    private readonly db: DataSource,
    private readonly store: EventStore,
    private readonly rpc: NatsRpcClient,
    private readonly log: IntakeLog,
    private readonly options: { auditPerMinute: number; replayWindowSeconds: number },
  ) {
    this.limiter = new AuditLimiter(options.auditPerMinute);
  }

  get pending(): number {
    return this.inFlight;
  }

  /** An answer for a webhook whose raw body is already read (and within the size limit). */
  async accept(
    ch: ChannelRuntime,
    headers: { random?: string; signature?: string; backend?: string },
    rawBody: Buffer,
    remote: string | undefined,
  ): Promise<WebhookAnswer> {
    const check = verifyTalkWebhook(headers, rawBody, ch);
    if (!check.ok) {
      await this.rejected(ch.name, check.reason, remote);
      return { status: 401, body: { error: 'unauthorized' } };
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      await this.rejected(ch.name, 'signed body is not JSON', remote);
      return { status: 400, body: { error: 'body is not JSON' } };
    }
    const activity = parseTalkActivity(body);
    // The signature covers no timestamp: a captured webhook stays valid, so remember what was seen.
    const keys = [`random:${headers.random}`];
    if (activity.kind === 'message') keys.push(`message:${activity.conversation}:${activity.messageId}`);
    if (!(await this.firstSighting(ch.name, keys))) {
      await this.rejected(
        ch.name,
        'replayed webhook (random or message id already seen); not processed',
        remote,
      );
      return { status: 200, body: { status: 'duplicate' } };
    }
    if (activity.kind === 'ignored') {
      this.log.debug(`channel ${ch.name}: webhook ignored: ${activity.reason}`);
      return { status: 200, body: { status: 'ignored' } };
    }
    this.enqueue(ch, activity);
    return { status: 200, body: { status: 'accepted' } };
  }

  /** Audited rejection of a webhook that never got past the size check. */
  async tooLarge(channel: string, limit: number, remote: string | undefined): Promise<void> {
    await this.rejected(channel, `body larger than ${limit} bytes`, remote);
  }

  async pruneSeen(): Promise<void> {
    await this.db.query(
      `DELETE FROM channels.webhook_seen WHERE seen_at < now() - make_interval(secs => $1)`,
      [this.options.replayWindowSeconds],
    );
  }

  async drained(): Promise<void> {
    while (this.queues.size) await Promise.all([...this.queues.values()]);
  }

  private async firstSighting(channel: string, keys: string[]): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO channels.webhook_seen (channel, key) SELECT $1, unnest($2::text[])
       ON CONFLICT DO NOTHING RETURNING key`,
      [channel, keys],
    );
    return rows.length === keys.length;
  }

  private async rejected(channel: string, reason: string, remote: string | undefined): Promise<void> {
    this.log.warn(`channel ${channel}: webhook rejected: ${reason}${remote ? ` (from ${remote})` : ''}`);
    const pass = this.limiter.take(`rejected:${channel}`);
    if (!pass) return;
    const suffix = pass.suppressedBefore
      ? ` (+${pass.suppressedBefore} more rejected earlier, not recorded one by one)`
      : '';
    const event = createEvent({
      type: 'channel.webhook.rejected',
      source: 'channels',
      aggregateId: channelIdOf(channel),
      data: { channel, reason: reason + suffix, ...(remote ? { remote: clip(remote) } : {}) },
      actor: { type: 'system', id: 'system' },
      trust: 'untrusted',
    });
    await this.store
      .append(event)
      .catch((error: Error) => this.log.warn(`cannot append channel.webhook.rejected: ${error.message}`));
  }

  /** One queue per session keeps its messages in arrival order; sessions run side by side. */
  private enqueue(ch: ChannelRuntime, msg: TalkMessage): void {
    const key = JSON.stringify([ch.name, msg.conversation, msg.actorId]);
    const previous = this.queues.get(key) ?? Promise.resolve();
    this.inFlight++;
    const next = previous
      .then(() => this.process(ch, msg))
      .catch((error: Error) =>
        this.log.error(
          `channel ${ch.name}: message ${msg.messageId} in ${msg.conversation} was not processed: ${error.message}`,
        ),
      )
      .finally(() => {
        this.inFlight--;
        if (this.queues.get(key) === next) this.queues.delete(key);
      });
    this.queues.set(key, next);
  }

  private async process(ch: ChannelRuntime, msg: TalkMessage): Promise<void> {
    const senderAggregate = senderIdOf(ch.name, msg.actorId);
    const state = foldSender((await this.store.readAggregate('sender', senderAggregate)).map((s) => s.event));
    const actor = { type: 'sender' as const, id: msg.actorId };
    const approval = parseApprovalCommand(msg.text);
    const isAdmin = state.status === 'admitted' && state.level === 'admin';

    if (approval && !isAdmin) {
      await this.approvalIgnored(
        ch.name,
        msg,
        approval.approval,
        state.status === 'admitted'
          ? 'sender is not admin in this channel'
          : `sender is ${state.status} in this channel`,
      );
      if (state.status === 'admitted') return;
    }

    if (state.status === 'unknown') {
      const pending = createEvent({
        type: 'channel.sender.pending',
        source: 'channels',
        aggregateId: senderAggregate,
        data: {
          channel: ch.name,
          sender: msg.actorId,
          senderName: clip(msg.actorName),
          conversation: msg.conversation,
        },
        actor,
        trust: 'untrusted',
      });
      try {
        // Only the first webhook of a new sender creates the aggregate: exactly one pending event,
        // and so exactly one "waiting" notice (the projector queues it for delivery).
        await this.store.append(pending, 'none');
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
      }
      return;
    }
    if (state.status !== 'admitted' || !state.level) return; // pending or rejected: nothing reaches the agent

    if (approval) {
      const request: ApprovalsDecideRequest = {
        approval: approval.approval,
        decision: approval.decision,
        decider: { type: 'sender', id: msg.actorId, channel: ch.name },
      };
      try {
        await this.rpc.request(APPROVALS_DECIDE, request);
      } catch (error) {
        this.log.warn(
          `channel ${ch.name}: ${approval.decision} ${approval.approval} by ${msg.actorId} failed: ${(error as Error).message}`,
        );
      }
      return;
    }

    const received = createEvent({
      type: 'chat.message.received',
      source: 'channels',
      aggregateId: sessionIdOf(ch.name, msg.conversation, msg.actorId),
      data: {
        channel: ch.name,
        conversation: msg.conversation,
        sender: msg.actorId,
        ...(msg.actorName ? { senderName: clip(msg.actorName) } : {}),
        messageId: msg.messageId,
        text: msg.text,
        level: state.level,
      },
      actor,
      trust: trustOfSenderLevel(state.level),
    });
    await this.store.append(received);
  }

  private async approvalIgnored(
    channel: string,
    msg: TalkMessage,
    approval: string,
    reason: string,
  ): Promise<void> {
    this.log.warn(`channel ${channel}: "${approval}" decision by ${msg.actorId} ignored: ${reason}`);
    if (!this.limiter.take(`approval:${channel}`)) return;
    const event = createEvent({
      type: 'channel.approval.ignored',
      source: 'channels',
      aggregateId: channelIdOf(channel),
      data: { channel, conversation: msg.conversation, sender: msg.actorId, approval, reason },
      actor: { type: 'sender', id: msg.actorId },
      trust: 'untrusted',
    });
    await this.store.append(event);
  }
}
