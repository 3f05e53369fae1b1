// The agent's conversation loop. One turn: claim it on the session (expected version, so one replica
// and one delivery win), then alternate model calls and tool calls until the model answers, and record
// every step on the session. Commands go through approvals (policy, mode, trust, taint) and run only
// with the signed grant approvals issued, in sandbox-exec.
import {
  APPROVALS_EVALUATE,
  APPROVALS_GRANT,
  type ApprovalsEvaluateReply,
  type ApprovalsEvaluateRequest,
  type ApprovalsGrantReply,
  type ChatMessageReceivedData,
  createEvent,
  type CronJobDefinitionData,
  type CronJobFiredData,
  type EventActor,
  type EventPayloadOf,
  type Grant,
  LLM_COMPLETE,
  type LlmCompleteReply,
  type LlmCompleteRequest,
  type PalisadeEvent,
  RpcError,
  SANDBOX_INFO,
  SANDBOX_RUN,
  type SandboxInfoReply,
  type SandboxRunReply,
  type SignedGrant,
  type ToolCall,
  type Trust,
  uuidv7,
} from '@palisade/contracts';
import { ConcurrencyError, type EventStore } from '@palisade/event-log';
import type { NatsRpcClient } from '@palisade/nats';
import type { AgentStateReader } from './agent-state';
import type { ApprovalWaiter } from './approval-waiter';
import { buildContext, decideTurn, sessionFacts, type SessionFacts, toolsFor } from './session-context';
import type { SessionReader } from './session-reader';

export interface TurnRunnerOptions {
  maxToolSteps: number;
  defaultCwd: string;
  /** How long an operator API call waits for its turn before answering 202. */
  llmTimeoutMs: number;
  sandboxTimeoutMs: number;
  log: (message: string) => void;
}

export interface TurnOutcome {
  turn?: string;
  status: 'completed' | 'failed' | 'skipped';
  reply?: string;
  reason?: string;
}

interface TurnContext {
  session: string;
  turn: string;
  facts: SessionFacts;
  correlationId: string;
  causationId: string;
  trust: Trust;
  fromSeq?: number;
}

const GATEWAY_ACTOR: EventActor = { type: 'service', id: 'gateway' };

export const MODEL_UNAVAILABLE_NOTICE =
  'The model is unavailable right now (it did not answer in time); nothing was done. Please try again later.';
export const GENERIC_FAILURE_NOTICE = 'Something went wrong; nothing more was done for this message.';

/** llm-router did not answer the completion (timeout, no responder, or an error reply). */
export class ModelUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super(
      `model unavailable: ${cause instanceof RpcError ? `${cause.code}: ${cause.message}` : (cause as Error)?.message}`,
    );
  }
}

/** The reason recorded in agent.turn.failed (internal detail; never shown to the user). */
export function failureReason(error: unknown): string {
  if (error instanceof RpcError) return `${error.code}: ${error.message}`;
  return (error as Error)?.message ?? String(error);
}

/** What the conversation is told when a claimed turn fails: never silence, never internals. */
export function failureNotice(error: unknown): string | undefined {
  if (error instanceof RpcError && error.code === 'frozen') return undefined;
  if (error instanceof ModelUnavailableError) {
    // The agent was frozen while the model was being asked: the freeze notice is the operator's.
    if (error.cause instanceof RpcError && error.cause.code === 'frozen') return undefined;
    return MODEL_UNAVAILABLE_NOTICE;
  }
  return GENERIC_FAILURE_NOTICE;
}
const MAX_OUTPUT_TO_MODEL = 16_000;

export class TurnRunner {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Turns this process is running right now. */
  private readonly live = new Set<string>();

  constructor(
    private readonly store: EventStore,
    private readonly rpc: NatsRpcClient,
    private readonly sessions: SessionReader,
    private readonly agent: AgentStateReader,
    private readonly approvals: ApprovalWaiter,
    private readonly options: TurnRunnerOptions,
  ) {}

  /** Turns of one session run one after another, in this process. */
  private serialize<T>(session: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(session) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(session, next);
    void next
      .finally(() => {
        if (this.queues.get(session) === next) this.queues.delete(session);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * A message arrived (channel or operator API): run a turn if one is still owed. `redelivered`: the
   * message came back from the log after its first delivery was never acknowledged (see decideTurn).
   * Rejects only when nothing was claimed (the caller has the message redelivered); once claimed,
   * the turn ends as completed or failed — both recorded.
   */
  onMessage(session: string, options: { redelivered?: boolean } = {}): Promise<TurnOutcome> {
    return this.serialize(session, async () => {
      const events = await this.sessions.read(session);
      const facts = sessionFacts(events);
      if (!facts.lastMessage) return { status: 'skipped', reason: 'nothing to answer' };
      return this.decideAndRun(
        session,
        facts,
        'message',
        facts.lastMessage.correlationId,
        facts.lastMessage.id,
        facts.trust,
        options.redelivered ?? false,
      );
    });
  }

  /**
   * A cron job fired: its prompt becomes a message in the job's session and starts a fresh turn.
   * Retry-safe: the prompt is appended once (found again by the firing's id on redelivery), and the
   * turn for it is claimed like any other — a redelivery neither doubles nor drops it.
   */
  onCronFired(fired: PalisadeEvent, options: { redelivered?: boolean } = {}): Promise<TurnOutcome> {
    const data = fired.data as CronJobFiredData;
    return this.serialize(data.session, async () => {
      const definition = await this.jobDefinition(data.job);
      if (!definition?.prompt) return { status: 'skipped', reason: 'job has no prompt' };
      const before = await this.sessions.read(data.session);
      const known = sessionFacts(before);
      const delivered = before.find(
        ({ event }) =>
          event.type === 'chat.message.received' &&
          (event.data as ChatMessageReceivedData).messageId === fired.id,
      );
      let promptSeq: number;
      let promptId: string;
      if (delivered) {
        promptSeq = delivered.seq;
        promptId = delivered.event.id;
      } else {
        const message = createEvent({
          type: 'chat.message.received',
          source: 'gateway',
          aggregateId: data.session,
          data: {
            channel: known.channel ?? 'cron',
            conversation: known.conversation ?? data.job,
            sender: `cron:${data.job}`,
            messageId: fired.id,
            text: definition.prompt,
            level: fired.trust === 'trusted' ? 'admin' : 'read-only',
          },
          correlationId: fired.correlationid,
          causationId: fired.id,
          actor: { type: 'system', id: 'cron' },
          trust: fired.trust,
        });
        // Expected version: a concurrent append makes this delivery fail and come back.
        promptSeq = (await this.store.append(message, known.version || 'none')).seq;
        promptId = message.id;
      }
      const events = await this.sessions.read(data.session);
      // A cron turn starts untainted: its context begins at its own prompt.
      const facts = {
        ...sessionFacts(events.filter((e) => e.seq >= promptSeq)),
        channel: known.channel,
        conversation: known.conversation,
      };
      return this.decideAndRun(
        data.session,
        facts,
        'cron',
        fired.correlationid,
        promptId,
        fired.trust,
        options.redelivered ?? false,
        promptSeq,
        data.job,
      );
    });
  }

  private async decideAndRun(
    session: string,
    facts: SessionFacts,
    trigger: 'message' | 'cron',
    correlationId: string,
    causationId: string,
    trust: Trust,
    redelivered: boolean,
    fromSeq?: number,
    job?: string,
  ): Promise<TurnOutcome> {
    // A turn this process is running itself is alive, whatever the delivery count says.
    const ownerGone = redelivered && !(facts.openTurn && this.live.has(facts.openTurn.turn));
    const decision = decideTurn(facts, ownerGone);
    switch (decision.kind) {
      case 'skip':
        return { status: 'skipped', reason: decision.reason };
      case 'close': {
        const ctx: TurnContext = { session, turn: decision.abandoned, facts, correlationId, causationId, trust };
        try {
          await this.append(ctx, 'agent.turn.completed', { turn: decision.abandoned }, facts.version);
        } catch (error) {
          if (error instanceof ConcurrencyError) return { status: 'skipped', reason: 'claimed elsewhere' };
          throw error;
        }
        this.options.log(`turn ${decision.abandoned} in ${session} had replied before its owner stopped; closed`);
        return { turn: decision.abandoned, status: 'completed' };
      }
      default:
        return this.run(
          session,
          facts,
          trigger,
          correlationId,
          causationId,
          trust,
          fromSeq,
          job,
          decision.kind === 'take-over' ? decision.abandoned : undefined,
        );
    }
  }

  private async run(
    session: string,
    facts: SessionFacts,
    trigger: 'message' | 'cron',
    correlationId: string,
    causationId: string,
    trust: Trust,
    fromSeq?: number,
    job?: string,
    abandoned?: string,
  ): Promise<TurnOutcome> {
    const turn = uuidv7();
    const ctx: TurnContext = { session, turn, facts, correlationId, causationId, trust, fromSeq };
    try {
      // The claim: only the delivery (or replica) that saw this exact version of the session wins.
      await this.append(
        ctx,
        'agent.turn.started',
        { turn, trigger, inReplyTo: facts.lastMessage?.messageId, job },
        facts.version,
      );
    } catch (error) {
      if (error instanceof ConcurrencyError) return { status: 'skipped', reason: 'claimed elsewhere' };
      throw error;
    }
    this.live.add(turn);
    const started = Date.now();
    try {
      if (abandoned) {
        this.options.log(`turn ${abandoned} in ${session} was abandoned by a stopped gateway; taken over by ${turn}`);
        await this.append(ctx, 'agent.turn.failed', {
          turn: abandoned,
          reason: `abandoned: its gateway stopped mid-turn; taken over by turn ${turn}`,
        });
      }
      const state = await this.agent.get();
      if (state.frozen) throw new RpcError('frozen', 'the agent is frozen');
      const identity = this.agent.identityText(state);
      const tools = toolsFor(facts.level);
      let last: LlmCompleteReply | undefined;
      let text: string | undefined;
      for (let step = 0; step <= this.options.maxToolSteps && text === undefined; step++) {
        const events = await this.sessions.read(session);
        const current = sessionFacts(fromSeq ? events.filter((e) => e.seq >= fromSeq) : events);
        const request: LlmCompleteRequest = {
          session,
          turn,
          messages: buildContext(identity, events, { fromSeq }),
          // The last step offers no tools: the model must answer.
          tools: step === this.options.maxToolSteps ? [] : tools,
          trust,
          tainted: current.tainted,
          sensitive: false,
          correlationId: ctx.correlationId,
        };
        try {
          last = await this.rpc.request<LlmCompleteReply>(LLM_COMPLETE, request, {
            timeoutMs: this.options.llmTimeoutMs,
          });
        } catch (error) {
          throw new ModelUnavailableError(error);
        }
        const calls = last.message.toolCalls ?? [];
        if (!calls.length) {
          text = last.message.content;
          break;
        }
        for (const call of calls) {
          if (call.name === 'reply') {
            text = typeof call.arguments.text === 'string' ? call.arguments.text : last.message.content;
            break;
          }
          await this.toolCall(
            ctx,
            call,
            tools.some((t) => t.name === call.name),
            current.tainted,
          );
        }
      }
      const reply = (text ?? '').trim() || '(no answer)';
      await this.say(ctx, reply);
      await this.append(ctx, 'agent.turn.completed', {
        turn,
        model: last?.model,
        route: last?.route,
        durationMs: Date.now() - started,
      });
      return { turn, status: 'completed', reply };
    } catch (error) {
      const reason = failureReason(error);
      this.options.log(`turn ${turn} in ${session} failed: ${reason}`);
      // The user hears why nothing came back, in plain words (no internals).
      const notice = failureNotice(error);
      if (notice) await this.say(ctx, notice).catch(() => undefined);
      await this.append(ctx, 'agent.turn.failed', { turn, reason: reason.slice(0, 900) }).catch(
        () => undefined,
      );
      return { turn, status: 'failed', reason };
    } finally {
      this.live.delete(turn);
    }
  }

  /** One tool call: record it, act, record the result (which the next model call sees). */
  private async toolCall(
    ctx: TurnContext,
    call: ToolCall,
    allowed: boolean,
    tainted: boolean,
  ): Promise<void> {
    const callId = call.id || uuidv7();
    const tool = call.name === 'exec' ? 'exec' : 'reply';
    await this.append(ctx, 'agent.tool.called', {
      turn: ctx.turn,
      call: callId,
      tool,
      arguments: JSON.stringify(call.arguments ?? {}),
    });
    if (call.name !== 'exec' || !allowed) {
      await this.append(ctx, 'agent.tool.result', {
        turn: ctx.turn,
        call: callId,
        tool,
        content: `The tool "${call.name}" is not available to you in this conversation.`,
        tainted: false,
      });
      return;
    }
    const command = typeof call.arguments.command === 'string' ? call.arguments.command : '';
    const cwd =
      typeof call.arguments.cwd === 'string' && call.arguments.cwd.startsWith('/')
        ? call.arguments.cwd
        : this.options.defaultCwd;
    if (!command.trim()) {
      await this.append(ctx, 'agent.tool.result', {
        turn: ctx.turn,
        call: callId,
        tool,
        content: 'exec needs a non-empty "command".',
        tainted: false,
      });
      return;
    }
    const result = await this.exec(ctx, command, cwd, tainted);
    await this.append(ctx, 'agent.tool.result', { turn: ctx.turn, call: callId, tool, ...result });
  }

  private async exec(
    ctx: TurnContext,
    command: string,
    cwd: string,
    tainted: boolean,
  ): Promise<{ content: string; tainted: boolean; approval?: string; exec?: string }> {
    const info = await this.rpc.request<SandboxInfoReply>(SANDBOX_INFO, {});
    const evaluate: ApprovalsEvaluateRequest & { correlationId: string; causationId: string } = {
      session: ctx.session,
      turn: ctx.turn,
      command,
      cwd,
      env: {},
      image: info.image,
      limits: info.limits,
      trust: ctx.trust,
      tainted,
      agent: 'default',
      channel: ctx.facts.channel,
      conversation: ctx.facts.conversation,
      correlationId: ctx.correlationId,
      causationId: ctx.causationId,
    };
    const verdict = await this.rpc.request<ApprovalsEvaluateReply>(APPROVALS_EVALUATE, evaluate);
    let grant = verdict.grant;
    if (verdict.status === 'pending') {
      await this.say(
        ctx,
        `Approval needed to run:\n\n    ${command}\n\n` +
          (verdict.reasons.length ? `Why: ${verdict.reasons.join('; ')}\n` : '') +
          `Approval id: ${verdict.approval}. An operator can decide in the Palisade API; ` +
          `a channel admin can answer "approve ${verdict.approval}" or "deny ${verdict.approval}".`,
      );
      const resolution = await this.approvals.wait(
        verdict.approval,
        new Date(verdict.deadline ?? Date.now() + 300_000),
      );
      const decision = resolution?.data.decision ?? 'timeout';
      if (decision !== 'approved' && decision !== 'modified' && decision !== 'auto') {
        const why = resolution?.data.reason ? ` (${resolution.data.reason})` : '';
        return {
          content: `The command was not run: ${decision === 'timeout' ? 'no decision in time' : 'denied'}${why}.`,
          tainted: false,
          approval: verdict.approval,
        };
      }
      grant = (await this.rpc.request<ApprovalsGrantReply>(APPROVALS_GRANT, { approval: verdict.approval }))
        .grant;
    } else if (verdict.status === 'denied') {
      return {
        content: `The command was not run: denied (${verdict.reason ?? verdict.reasons.join('; ')}).`,
        tainted: false,
        approval: verdict.approval,
      };
    }
    if (!grant) throw new RpcError('internal', `approval ${verdict.approval} was approved without a grant`);
    return this.runGranted(ctx, grant, verdict.approval);
  }

  private async runGranted(ctx: TurnContext, grant: SignedGrant, approval: string) {
    // Run exactly what was granted (after a `modify`, the edited command).
    const bound = JSON.parse(grant.payload) as Grant;
    const ran = await this.rpc.request<SandboxRunReply>(
      SANDBOX_RUN,
      {
        grant,
        session: bound.session,
        command: bound.command,
        cwd: bound.cwd,
        env: bound.env,
        image: bound.image,
        correlationId: ctx.correlationId,
        causationId: ctx.causationId,
      },
      { timeoutMs: this.options.sandboxTimeoutMs },
    );
    const clip = (s: string) =>
      s.length > MAX_OUTPUT_TO_MODEL ? `${s.slice(0, MAX_OUTPUT_TO_MODEL)}\n[… cut]` : s;
    const content =
      `command: ${bound.command}\nexit code: ${ran.exitCode}` +
      (ran.killed !== 'none' ? ` (killed: ${ran.killed})` : '') +
      `\nstdout:\n${clip(ran.stdout)}` +
      (ran.stderr ? `\nstderr:\n${clip(ran.stderr)}` : '') +
      (ran.truncated ? '\n[output truncated]' : '');
    return { content, tainted: true, approval, exec: ran.exec };
  }

  private async jobDefinition(job: string): Promise<CronJobDefinitionData | undefined> {
    let definition: CronJobDefinitionData | undefined;
    for (const { event } of await this.store.readAggregate('cronjob', job)) {
      if (event.type === 'cron.job.created' || event.type === 'cron.job.updated')
        definition = event.data as CronJobDefinitionData;
      if (event.type === 'cron.job.removed') definition = undefined;
    }
    return definition;
  }

  private say(ctx: TurnContext, text: string) {
    return this.append(ctx, 'chat.message.sent', {
      channel: ctx.facts.channel,
      conversation: ctx.facts.conversation,
      text,
      inReplyTo: ctx.facts.lastMessage?.messageId,
    });
  }

  private append<K extends string>(ctx: TurnContext, type: K, data: EventPayloadOf<K>, expected?: number) {
    const event = createEvent({
      type,
      source: 'gateway',
      aggregateId: ctx.session,
      data,
      correlationId: ctx.correlationId,
      causationId: ctx.causationId,
      actor: GATEWAY_ACTOR,
      trust: ctx.trust,
    });
    return this.store.append(event, expected ?? 'any');
  }
}
