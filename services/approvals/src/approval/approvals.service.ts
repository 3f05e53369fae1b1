// Decides which commands need a human, holds pending requests, issues signed grants.
//
// Every change is an event on `evt.approval.<id>`, appended with the aggregate's expected version, so a
// decision racing another decision, the timeout or a freeze loses cleanly (`conflict`). State is folded
// from EVENTS for decisions and grants; the PostgreSQL read model (ApprovalsProjection) feeds the
// timeout/freeze sweep and cmd.approvals.list, so deadlines survive restarts of any service.
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  type ApprovalsDecideReply,
  type ApprovalsEvaluateReply,
  type ApprovalsListReply,
  type ApprovalView,
  createEvent,
  DEFAULT_AGENT_ID,
  type EventActor,
  type ExecApprovalResolvedData,
  eventSubject,
  RpcError,
  RpcErrorCode,
  type SignedGrant,
  signGrant,
  type Trust,
  uuidv7,
  applyFreeze,
  NOT_FROZEN,
} from '@palisade/contracts';
import { readSecretFile } from '@palisade/config';
import { ConcurrencyError, serviceDataSource, EventStore, fold, Projector } from '@palisade/event-log';
import { NATS_CONNECTION, SERVICE_CONFIG } from '@palisade/nats';
import type { ApprovalsConfig } from '../approvals.config';
import { APPROVALS_SCHEMA } from '../migrations';
import { ApprovalsProjection } from '../persistence/approvals.projection';
import { type ApprovalPolicyConfig, loadPolicyConfig, modeFor } from './approval-policy-config';
import { assessCommand } from './assess-command';
import {
  type ApprovalState,
  evolveApproval,
  grantOf,
  initialApprovalState,
  statusOf,
  viewOf,
} from './approval.state';
import { modifyDecision } from './modify-decision';
import type { DecideRequestDto, EvaluateRequestDto, ListRequestDto } from './approvals.dto';

const LIST_MAX = 64;
const REASON_MAX = 4096;
const SERVICE_ACTOR: EventActor = { type: 'service', id: 'approvals' };

interface Loaded {
  state: ApprovalState;
  version: number;
}

/** The agent aggregate's freeze state, folded incrementally from EVENTS (read-your-writes, one read when unchanged). */
class AgentFreezeReader {
  private readonly known = new Map<string, { seq: number; frozen: boolean }>();

  constructor(private readonly store: EventStore) {}

  async isFrozen(agent: string): Promise<boolean> {
    let entry = this.known.get(agent) ?? { seq: 0, frozen: false };
    const subject = eventSubject('agent', agent);
    for (;;) {
      const next = await this.store.nextOnSubject(subject, entry.seq + 1);
      if (!next) break;
      entry = {
        seq: next.seq,
        frozen: applyFreeze({ ...NOT_FROZEN, frozen: entry.frozen }, next.event).frozen,
      };
    }
    const cached = this.known.get(agent);
    if (!cached || cached.seq < entry.seq) this.known.set(agent, entry);
    return entry.frozen;
  }
}

function capReasons(reasons: string[]): string[] {
  const capped = reasons
    .slice(0, LIST_MAX)
    .map((r) => (r.length > REASON_MAX ? r.slice(0, REASON_MAX - 1) + '…' : r));
  return capped.length ? capped : ['no reason given'];
}

function summary(reasons: string[]): string {
  const text = reasons.join('; ') || 'no reason given';
  return text.length > REASON_MAX ? text.slice(0, REASON_MAX - 1) + '…' : text;
}

@Injectable()
export class ApprovalsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Approvals');
  private policy!: ApprovalPolicyConfig;
  private key!: KeyObject;
  private db!: DataSource;
  private store!: EventStore;
  private projector!: Projector;
  private freeze!: AgentFreezeReader;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private stopped = false;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ApprovalsConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    this.policy = loadPolicyConfig(c.PALISADE_APPROVALS_MODE, c.PALISADE_APPROVALS_POLICY_FILE);
    this.key = createPrivateKey(
      readSecretFile(c.PALISADE_APPROVALS_GRANT_KEY_FILE, 'PALISADE_APPROVALS_GRANT_KEY_FILE'),
    );
    if (this.key.asymmetricKeyType !== 'ed25519')
      throw new Error('PALISADE_APPROVALS_GRANT_KEY_FILE must hold an Ed25519 key');
    this.db = serviceDataSource(c, APPROVALS_SCHEMA);
    await this.db.initialize();
    this.store = new EventStore(this.nc);
    this.freeze = new AgentFreezeReader(this.store);
    this.projector = new Projector(this.nc, this.db, this.store, {
      name: 'approvals',
      durable: 'approvals',
      schema: APPROVALS_SCHEMA,
      handlers: [new ApprovalsProjection()],
      log: (message) => this.logger.warn(message),
      onHalt: (error) => this.logger.error(`approvals projection halted: ${error.message}`),
      // A freeze denies pending approvals at once instead of at the next tick.
      afterCommit: async (applied) => {
        if (applied.some((a) => a.event.type === 'agent.frozen')) this.kickSweep();
      },
    });
    await this.projector.start();
    this.sweepTimer = setInterval(() => this.kickSweep(), c.PALISADE_APPROVALS_SWEEP_MS);
    this.kickSweep();
    const modes = `default ${this.policy.defaultMode}, ${Object.keys(this.policy.agents).length} agent and ${Object.keys(this.policy.channels).length} channel overrides, ${this.policy.allow.length} allow rules`;
    this.logger.log(
      `approvals ready: ${modes}; timeout ${c.PALISADE_APPROVALS_TIMEOUT_S} s, grant ttl ${c.PALISADE_APPROVALS_GRANT_TTL_S} s`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.sweeping?.catch(() => undefined);
    await this.projector?.stop();
    await this.db?.destroy().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------------
  // cmd.approvals.evaluate
  // ---------------------------------------------------------------------------------------------------

  async evaluate(request: EvaluateRequestDto): Promise<ApprovalsEvaluateReply> {
    const agent = request.agent ?? DEFAULT_AGENT_ID;
    if (await this.freeze.isFrozen(agent)) {
      throw new RpcError(
        RpcErrorCode.Frozen,
        `agent ${agent} is frozen: no command is evaluated until it is thawed`,
      );
    }
    const mode = modeFor(this.policy, agent, request.channel);
    const decision = assessCommand({
      command: request.command,
      cwd: request.cwd,
      mode,
      trust: request.trust,
      tainted: request.tainted,
      network: request.limits.network,
      workspace: this.config.PALISADE_APPROVALS_WORKSPACE,
      allow: this.policy.allow,
    });
    const approval = uuidv7();
    const reasons = capReasons(decision.reasons);
    const deadline = new Date(Date.now() + this.config.PALISADE_APPROVALS_TIMEOUT_S * 1000).toISOString();
    const actor: EventActor = request.actor ?? { type: 'service', id: 'gateway' };
    const requested = createEvent({
      type: 'exec.approval.requested',
      source: 'approvals',
      aggregateId: approval,
      correlationId: request.correlationId,
      causationId: request.causationId,
      actor,
      trust: request.trust,
      data: {
        approval,
        session: request.session,
        command: request.command,
        cwd: request.cwd,
        env: { ...request.env },
        image: request.image,
        reasons,
        mode,
        deadline,
        ...(request.channel ? { channel: request.channel } : {}),
        ...(request.conversation ? { conversation: request.conversation } : {}),
        limits: { ...request.limits },
        agent,
      },
    });
    let version = (await this.store.append(requested, 'none')).seq;
    let state = evolveApproval(initialApprovalState(), requested);
    if (decision.outcome === 'ask') return viewOf(state);

    const resolved = createEvent({
      type: 'exec.approval.resolved',
      source: 'approvals',
      aggregateId: approval,
      correlationId: requested.correlationid,
      causationId: requested.id,
      actor,
      trust: request.trust,
      data:
        decision.outcome === 'auto'
          ? { approval, decision: 'auto' as const, rule: decision.rule!, reason: summary(reasons) }
          : { approval, decision: 'denied' as const, reason: summary(reasons) },
    });
    version = (await this.store.append(resolved, version)).seq;
    state = evolveApproval(state, resolved);
    if (decision.outcome === 'deny') return viewOf(state);
    const grant = await this.issueGrant({ state, version }, actor, request.trust, resolved.id);
    return { ...viewOf(state), grant };
  }

  // ---------------------------------------------------------------------------------------------------
  // cmd.approvals.decide
  // ---------------------------------------------------------------------------------------------------

  async decide(request: DecideRequestDto): Promise<ApprovalsDecideReply> {
    if (request.command !== undefined && request.decision !== 'modify') {
      throw new RpcError(RpcErrorCode.ValidationFailed, 'command is only allowed with decision "modify"');
    }
    const loaded = await this.load(request.approval);
    const r = loaded.state.requested!.data;
    if (statusOf(loaded.state) !== 'pending') {
      throw new RpcError(
        RpcErrorCode.Conflict,
        `approval ${request.approval} is already resolved (${loaded.state.resolved!.data.decision})`,
      );
    }
    const decider = request.decider;
    if (decider.type === 'sender' && (!r.channel || decider.channel !== r.channel)) {
      throw new RpcError(
        RpcErrorCode.Forbidden,
        `a channel sender may only decide approvals raised in their own channel`,
      );
    }
    if (request.decision !== 'deny' && (await this.freeze.isFrozen(r.agent ?? DEFAULT_AGENT_ID))) {
      throw new RpcError(
        RpcErrorCode.Frozen,
        `agent ${r.agent ?? DEFAULT_AGENT_ID} is frozen: nothing is approved until it is thawed`,
      );
    }
    const who = `${decider.type} ${decider.id}`;
    let data: ExecApprovalResolvedData;
    if (request.decision === 'approve') {
      data = {
        approval: r.approval,
        decision: 'approved',
        decider: { type: decider.type, id: decider.id },
        reason: request.reason ?? `approved by ${who}`,
      };
    } else if (request.decision === 'deny') {
      data = {
        approval: r.approval,
        decision: 'denied',
        decider: { type: decider.type, id: decider.id },
        reason: request.reason ?? `denied by ${who}`,
      };
    } else {
      data = modifyDecision(loaded.state, {
        command: request.command!,
        decider,
        reason: request.reason,
        workspace: this.config.PALISADE_APPROVALS_WORKSPACE,
        allow: this.policy.allow,
      });
    }
    const actor: EventActor = { type: decider.type, id: decider.id };
    const resolved = createEvent({
      type: 'exec.approval.resolved',
      source: 'approvals',
      aggregateId: r.approval,
      correlationId: loaded.state.requested!.correlationId,
      causationId: request.causationId ?? loaded.state.requested!.id,
      actor,
      trust: 'trusted',
      data,
    });
    let version: number;
    try {
      version = (await this.store.append(resolved, loaded.version)).seq;
    } catch (error) {
      if (error instanceof ConcurrencyError) {
        const now = await this.load(request.approval);
        throw new RpcError(
          RpcErrorCode.Conflict,
          `approval ${request.approval} is already resolved${now.state.resolved ? ` (${now.state.resolved.data.decision})` : ''}`,
        );
      }
      throw error;
    }
    const state = evolveApproval(loaded.state, resolved);
    if (statusOf(state) !== 'approved') return viewOf(state);
    const grant = await this.issueGrant({ state, version }, actor, 'trusted', resolved.id);
    return { ...viewOf(state), grant };
  }

  // ---------------------------------------------------------------------------------------------------
  // cmd.approvals.grant / get / list
  // ---------------------------------------------------------------------------------------------------

  async grant(approval: string): Promise<SignedGrant> {
    const loaded = await this.load(approval);
    const status = statusOf(loaded.state);
    if (status === 'pending')
      throw new RpcError(RpcErrorCode.Conflict, `approval ${approval} is still pending`);
    if (status === 'denied') {
      throw new RpcError(
        RpcErrorCode.Forbidden,
        `approval ${approval} was not approved (${loaded.state.resolved!.data.decision})`,
      );
    }
    // Issued before a crash or by another replica: the same grant, re-signed byte for byte (Ed25519 is deterministic).
    if (loaded.state.grant)
      return signGrant(this.key, grantOf(loaded.state, loaded.state.grant.grant, loaded.state.grant.exp));
    // Approved, but the process died before `exec.grant.issued`: issue it now.
    return this.issueGrant(loaded, SERVICE_ACTOR, 'trusted', loaded.state.resolved!.id);
  }

  async get(approval: string): Promise<ApprovalView> {
    return viewOf((await this.load(approval)).state);
  }

  async list(request: ListRequestDto): Promise<ApprovalsListReply> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (request.status) add('status = ?', request.status);
    if (request.session) add('session = ?', request.session);
    if (request.channel) add('channel = ?', request.channel);
    params.push(request.limit ?? 100);
    const rows: ApprovalRow[] = await this.db.query(
      `SELECT * FROM approvals.approval ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, approval DESC LIMIT $${params.length}`,
      params,
    );
    return { approvals: rows.map(rowToView) };
  }

  async health(): Promise<Record<string, { ok: boolean; detail?: string }>> {
    let database = true;
    try {
      await this.db.query('SELECT 1');
    } catch {
      database = false;
    }
    const halted = this.projector?.halted;
    return {
      postgres: { ok: database },
      projection: halted
        ? { ok: false, detail: `halted: ${halted.message}` }
        : { ok: !!this.projector, detail: `at ${this.projector?.position ?? 0}` },
    };
  }

  // ---------------------------------------------------------------------------------------------------
  // internals
  // ---------------------------------------------------------------------------------------------------

  private async load(approval: string): Promise<Loaded> {
    const events = await this.store.readAggregate('approval', approval);
    const state = fold(
      { initialState: initialApprovalState, evolve: evolveApproval },
      events.map((e) => e.event),
    );
    if (!state.requested) throw new RpcError(RpcErrorCode.NotFound, `no approval ${approval}`);
    return { state, version: events.at(-1)!.seq };
  }

  /** Signs the grant and records `exec.grant.issued`; if another writer recorded one first, that one is returned. */
  private async issueGrant(
    loaded: Loaded,
    actor: EventActor,
    trust: Trust,
    causationId: string,
  ): Promise<SignedGrant> {
    const exp = new Date(Date.now() + this.config.PALISADE_APPROVALS_GRANT_TTL_S * 1000).toISOString();
    const grant = grantOf(loaded.state, uuidv7(), exp);
    const signed = signGrant(this.key, grant);
    const issued = createEvent({
      type: 'exec.grant.issued',
      source: 'approvals',
      aggregateId: grant.approval,
      correlationId: loaded.state.requested!.correlationId,
      causationId,
      actor,
      trust,
      data: {
        grant: grant.grant,
        approval: grant.approval,
        session: grant.session,
        command: grant.command,
        cwd: grant.cwd,
        image: grant.image,
        exp,
      },
    });
    try {
      await this.store.append(issued, loaded.version);
      return signed;
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      const now = await this.load(grant.approval);
      if (!now.state.grant)
        throw new RpcError(
          RpcErrorCode.Conflict,
          `approval ${grant.approval} changed while its grant was issued`,
        );
      return signGrant(this.key, grantOf(now.state, now.state.grant.grant, now.state.grant.exp));
    }
  }

  private kickSweep(): void {
    if (this.sweeping || this.stopped) return;
    this.sweeping = this.sweep()
      .catch((error: Error) => this.logger.warn(`sweep failed: ${error.message}`))
      .finally(() => (this.sweeping = undefined));
  }

  /** Resolves due approvals (`timeout`) and those of frozen agents (`denied`), each at its expected version. */
  private async sweep(): Promise<void> {
    const due: { approval: string }[] = await this.db.query(
      `SELECT approval FROM approvals.approval WHERE status = 'pending' AND deadline <= now() ORDER BY deadline LIMIT 100`,
    );
    for (const { approval } of due) {
      if (this.stopped) return;
      await this.resolveBySystem(approval, (state) => {
        if (Date.parse(state.requested!.data.deadline) > Date.now()) return undefined;
        return {
          decision: 'timeout',
          reason: `no decision before the deadline ${state.requested!.data.deadline}`,
        };
      });
    }
    const frozen: { approval: string; agent: string; reason: string | null }[] = await this.db.query(
      `SELECT a.approval, a.agent, f.reason FROM approvals.approval a
         JOIN approvals.agent_freeze f ON f.agent = a.agent
        WHERE a.status = 'pending' AND f.frozen LIMIT 100`,
    );
    for (const row of frozen) {
      if (this.stopped) return;
      // The read model may lag a thaw: confirm against EVENTS.
      if (!(await this.freeze.isFrozen(row.agent))) continue;
      await this.resolveBySystem(row.approval, () => ({
        decision: 'denied',
        reason: row.reason ? `agent frozen: ${row.reason}` : 'agent frozen',
      }));
    }
  }

  private async resolveBySystem(
    approval: string,
    decide: (state: ApprovalState) => { decision: 'timeout' | 'denied'; reason: string } | undefined,
  ): Promise<void> {
    const loaded = await this.load(approval);
    if (statusOf(loaded.state) !== 'pending') return;
    const outcome = decide(loaded.state);
    if (!outcome) return;
    const event = createEvent({
      type: 'exec.approval.resolved',
      source: 'approvals',
      aggregateId: approval,
      correlationId: loaded.state.requested!.correlationId,
      causationId: loaded.state.requested!.id,
      actor: SERVICE_ACTOR,
      trust: 'trusted',
      data: { approval, decision: outcome.decision, reason: outcome.reason.slice(0, REASON_MAX) },
    });
    try {
      await this.store.append(event, loaded.version);
      this.logger.log(`approval ${approval} resolved ${outcome.decision}: ${outcome.reason}`);
    } catch (error) {
      // Someone decided first, or another replica resolved it: nothing to do.
      if (!(error instanceof ConcurrencyError)) throw error;
    }
  }
}

interface ApprovalRow {
  approval: string;
  session: string;
  status: ApprovalView['status'];
  decision: ApprovalView['decision'] | null;
  command: string;
  cwd: string;
  mode: ApprovalView['mode'];
  reasons: string[];
  rule: string | null;
  reason: string | null;
  deadline: Date;
  channel: string | null;
  conversation: string | null;
  decider_type: 'user' | 'apikey' | 'sender' | 'service' | 'system' | null;
  decider_id: string | null;
}

function rowToView(row: ApprovalRow): ApprovalView {
  const view: ApprovalView = {
    approval: row.approval,
    session: row.session,
    status: row.status,
    command: row.command,
    cwd: row.cwd,
    mode: row.mode,
    reasons: row.reasons,
  };
  if (row.decision) view.decision = row.decision;
  if (row.rule) view.rule = row.rule;
  if (row.reason) view.reason = row.reason;
  if (row.status === 'pending') view.deadline = new Date(row.deadline).toISOString();
  if (row.channel) view.channel = row.channel;
  if (row.conversation) view.conversation = row.conversation;
  if (row.decider_type && row.decider_id) view.decider = { type: row.decider_type, id: row.decider_id };
  return view;
}
