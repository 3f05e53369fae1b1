// Runs granted commands. Order of a run (nothing reaches Docker before step 2 passed):
//   1. verify the grant: approvals' signature, canonical form, expiry; request command / cwd / env /
//      image equal to the grant's; session equal; image = the image this service runs; network one
//      this service provides — any failure → `exec.grant.refused` + `forbidden`;
//   2. agent frozen → `exec.failed {agent_frozen}`; Docker or the image unavailable →
//      `exec.failed {sandbox_unavailable | image_unavailable}` (fail closed; the grant is not spent);
//   3. claim: `exec.grant.used` on evt.grant.<id> at expected version `none` — the log decides, so a
//      second use fails across restarts and replicas (`exec.grant.refused {already_used}`);
//   4. `exec.started`, run with the grant's limits, `exec.finished` with the redacted output.
// An egress run (network = the egress network) also needs the egress proxy and the bridge's packet
// filter in place (step 2, reinstalled if it went missing; otherwise `exec.failed {sandbox_failed}`).
// What the filter dropped and the names the DNS sink refused are read before and after each egress
// run and every EGRESS_AUDIT_MS, and become `exec.egress.denied` events attributed by source address.
// Every event carries the caller's correlation / causation ids.
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readSecretFile } from '@palisade/config';
import {
  createEvent,
  DEFAULT_AGENT_ID,
  type ExecFailureCode,
  type Grant,
  GrantError,
  type GrantLimits,
  type GrantRefusalCode,
  isUuidV7,
  type PalisadeEvent,
  redactSecrets,
  RpcError,
  RpcErrorCode,
  type SandboxInfoReply,
  type SandboxRunReply,
  uuidv7,
  verifyGrantForRequest,
  applyFreeze,
  NOT_FROZEN,
} from '@palisade/contracts';
import { ConcurrencyError, EventReactor, EventStore } from '@palisade/event-log';
import { NATS_CONNECTION, SERVICE_CONFIG } from '@palisade/nats';
import {
  DockerEgressRepository,
  type EgressDenial,
  type EgressDnsQuery,
  egressProxyEnv,
  parseEgressAllowlist,
} from './sandbox/docker-egress.repository';
import type { EgressDrain } from './sandbox/egress-firewall';
import { DockerSandboxRepository } from './sandbox/docker-sandbox.repository';
import { SandboxError, SandboxImageNotFoundError, SandboxUnavailableError } from './sandbox/sandbox.errors';
import type { SandboxExecConfig } from './sandbox-exec.config';
import type { SandboxRunRequestDto } from './sandbox-run.dto';

const SERVICE = 'sandbox-exec';
const ACTOR = { type: 'service', id: SERVICE } as const;
/** Each output stream kept in `exec.finished` (the event must fit one NATS message). */
const EVENT_OUTPUT_BYTES = 256 * 1024;
const IMAGE_CACHE_MS = 10_000;
/** How often the egress filter's record of dropped packets is read between runs. */
const EGRESS_AUDIT_MS = 3_000;
/** Distinct refused DNS names kept between two reads; beyond, queries are only counted. */
const DNS_PENDING_MAX = 1024;

interface RunContext {
  exec: string;
  session: string;
  correlationId: string;
  causationId?: string;
}

class Refusal extends Error {
  constructor(
    readonly code: GrantRefusalCode,
    message: string,
    readonly grantId?: string,
  ) {
    super(message);
  }
}

function truncateBytes(text: string, max: number): { text: string; cut: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return { text, cut: false };
  let end = max;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
  return { text: bytes.subarray(0, end).toString('utf8'), cut: true };
}

@Injectable()
export class SandboxExecService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SandboxExec');
  private readonly store: EventStore;
  private readonly publicKey: KeyObject;
  private readonly sandbox: DockerSandboxRepository;
  private readonly egress?: DockerEgressRepository;
  private readonly allowlist: string[];
  private readonly knownSecrets: string[];
  private readonly defaults: GrantLimits;
  private reactor?: EventReactor;
  private frozen = false;
  private frozenReason = '';
  private image?: { id: string; checkedAt: number };
  private egressReady?: Promise<void>;
  /** Exec id of the run in flight per session (to attribute egress denials). */
  private readonly running = new Map<string, string>();
  /** Exec id of each session's latest egress run (a denial read just after a run ended is its). */
  private readonly lastExec = new Map<string, string>();
  private readonly pendingDns = new Map<string, { client: string; name: string; count: number }>();
  private dnsUnrecorded = 0;
  private auditTimer?: NodeJS.Timeout;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: SandboxExecConfig,
  ) {
    const c = config;
    this.store = new EventStore(nc);
    // A public key is not a secret, but it decides what runs: read it strictly, fail fast.
    this.publicKey = createPublicKey(readFileSync(c.PALISADE_SANDBOX_GRANT_PUBKEY_FILE, 'utf8'));
    if (this.publicKey.asymmetricKeyType !== 'ed25519')
      throw new Error('PALISADE_SANDBOX_GRANT_PUBKEY_FILE must hold an Ed25519 public key');
    this.allowlist = c.PALISADE_SANDBOX_EGRESS_ALLOWLIST
      ? parseEgressAllowlist(c.PALISADE_SANDBOX_EGRESS_ALLOWLIST)
      : [];
    this.knownSecrets = (c.PALISADE_SANDBOX_SECRETS_FILES ?? '')
      .split(',')
      .map((path) => path.trim())
      .filter(Boolean)
      .flatMap((path) =>
        readSecretFile(path, 'PALISADE_SANDBOX_SECRETS_FILES')
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean),
      );
    this.defaults = {
      memoryBytes: c.PALISADE_SANDBOX_MEMORY_BYTES,
      nanoCpus: Math.round(c.PALISADE_SANDBOX_CPUS * 1e9),
      pidsLimit: c.PALISADE_SANDBOX_PIDS,
      timeoutMs: c.PALISADE_SANDBOX_TIMEOUT_MS,
      outputBytes: c.PALISADE_SANDBOX_OUTPUT_BYTES,
      network: 'none',
    };
    const log = { warn: (m: string) => this.logger.warn(m), debug: (m: string) => this.logger.debug(m) };
    this.sandbox = new DockerSandboxRepository({
      poolSize: c.PALISADE_SANDBOX_POOL_SIZE,
      poolImage: c.PALISADE_SANDBOX_IMAGE,
      idleTimeoutMs: c.PALISADE_SANDBOX_IDLE_SECONDS * 1000,
      defaultLimits: this.defaults,
      knownSecrets: this.knownSecrets,
      networkEnv: this.allowlist.length > 0 ? { [c.PALISADE_SANDBOX_EGRESS_NETWORK]: egressProxyEnv() } : {},
      logger: log,
    });
    if (this.allowlist.length > 0) {
      this.egress = new DockerEgressRepository({
        docker: this.sandbox.client,
        network: c.PALISADE_SANDBOX_EGRESS_NETWORK,
        upstreamNetwork: c.PALISADE_SANDBOX_EGRESS_UPSTREAM_NETWORK,
        allow: this.allowlist,
        labels: this.sandbox.managedLabels(),
        onDenied: (denial) => void this.recordEgressDenial(denial),
        onDns: (query) => this.queueDns(query),
        nft: c.PALISADE_SANDBOX_NFT,
        deniedSetSize: c.PALISADE_SANDBOX_EGRESS_DENIED_SET_SIZE,
        logger: log,
      });
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    // The freeze state first: no run may slip through between start-up and the reactor catching up.
    await this.refreshFreeze();
    this.reactor = new EventReactor(this.nc, {
      durable: SERVICE,
      handlers: [{ types: ['agent.frozen', 'agent.thawed'], handle: (event) => this.onAgentEvent(event) }],
      log: (m) => this.logger.warn(m),
    });
    this.reactor.start();
    // Docker down at boot does not stop the service: runs fail closed and it is tried again.
    try {
      // start() removes what a crashed instance left behind (cleanupOrphans), then fills the pool.
      await this.sandbox.start();
      await this.ensureEgress();
    } catch (error) {
      this.logger.warn(`sandbox not ready yet: ${(error as Error).message}`);
    }
    if (this.egress) {
      this.auditTimer = setInterval(() => {
        if (this.egress?.table) void this.auditEgress().catch((e: Error) => this.logger.warn(e.message));
      }, EGRESS_AUDIT_MS);
      this.auditTimer.unref();
    }
    this.logger.log(
      `sandbox-exec ready: image ${this.config.PALISADE_SANDBOX_IMAGE}, egress ${this.egress ? this.allowlist.join(', ') : 'none'}${this.frozen ? ', agent FROZEN' : ''}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.auditTimer) clearInterval(this.auditTimer);
    await this.reactor?.stop();
    if (this.egress?.table) await this.auditEgress().catch(() => undefined);
    await this.sandbox.close();
    await this.egress?.close();
  }

  // ---- cmd.sandbox.info ----------------------------------------------------------------------

  async info(): Promise<SandboxInfoReply> {
    const image = await this.imageId(true).catch((error: unknown) => {
      throw this.unavailable(error);
    });
    const egress = this.egress !== undefined;
    return {
      image,
      limits: { ...this.defaults, network: egress ? this.egress!.network : 'none' },
      egress,
    };
  }

  // ---- cmd.sandbox.run -----------------------------------------------------------------------

  async run(request: SandboxRunRequestDto): Promise<SandboxRunReply> {
    const ctx: RunContext = {
      exec: uuidv7(),
      session: request.session,
      correlationId: request.correlationId ?? '',
      causationId: request.causationId,
    };
    ctx.correlationId ||= ctx.exec;

    // 1. The grant, before anything else.
    let grant: Grant;
    try {
      grant = this.verify(request);
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(ctx, error);
      throw error;
    }
    try {
      await this.checkImageAndNetwork(grant);
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(ctx, error);
      // Docker down while the image was looked up: fail closed.
      return this.fail(ctx, grant, this.failureCode(error), (error as Error).message, false);
    }

    // 2. Frozen, or nothing to run on: fail closed; the grant stays unspent.
    if (this.frozen)
      await this.fail(
        ctx,
        grant,
        'agent_frozen',
        `the agent is frozen (${this.frozenReason}); nothing runs until it is thawed`,
        false,
      );
    try {
      await this.sandbox.ping();
      if (grant.limits.network !== 'none') {
        await this.ensureEgress();
        // Puts the filter back if it went missing (or throws: fail closed); earlier denials are
        // recorded before this run's begin.
        await this.auditEgress();
      }
    } catch (error) {
      await this.fail(ctx, grant, this.failureCode(error), (error as Error).message, false);
    }

    // 3. Claim: only the first append on evt.grant.<id> succeeds.
    try {
      await this.append(
        ctx,
        'exec.grant.used',
        grant.grant,
        {
          grant: grant.grant,
          approval: grant.approval,
          session: grant.session,
          exec: ctx.exec,
        },
        'none',
      );
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      return this.refuse(ctx, new Refusal('already_used', 'the grant was already used', grant.grant));
    }
    if (this.frozen)
      await this.fail(ctx, grant, 'agent_frozen', `the agent is frozen (${this.frozenReason})`, true);

    // 4. Run.
    await this.append(ctx, 'exec.started', ctx.exec, {
      exec: ctx.exec,
      session: grant.session,
      grant: grant.grant,
      image: grant.image,
    });
    this.running.set(grant.session, ctx.exec);
    const egressRun = grant.limits.network !== 'none';
    if (egressRun) {
      this.lastExec.delete(grant.session);
      this.lastExec.set(grant.session, ctx.exec);
      if (this.lastExec.size > 4096) this.lastExec.delete(this.lastExec.keys().next().value!);
    }
    let result;
    try {
      result = await this.sandbox.run(grant.session, {
        command: grant.command,
        cwd: grant.cwd,
        env: grant.env,
        image: grant.image,
        limits: grant.limits,
      });
    } catch (error) {
      // awaited: the finally below awaits too, and a returned rejection would be unhandled meanwhile
      return await this.fail(ctx, grant, this.failureCode(error), (error as Error).message, true);
    } finally {
      // What this run tried is recorded while it is still the session's running exec.
      if (egressRun)
        await this.auditEgress().catch((error: Error) =>
          this.logger.warn(`egress audit after a run: ${error.message}`),
        );
      if (this.running.get(grant.session) === ctx.exec) this.running.delete(grant.session);
    }
    // Known secrets went out in the stream already; the detectors (keys, tokens, …) run on the whole text.
    const stdout = redactSecrets(result.stdout, this.knownSecrets);
    const stderr = redactSecrets(result.stderr, this.knownSecrets);
    const truncated = result.truncated.stdout || result.truncated.stderr;
    const out = truncateBytes(stdout, EVENT_OUTPUT_BYTES);
    const err = truncateBytes(stderr, EVENT_OUTPUT_BYTES);
    const durationMs = Math.round(result.durationMs);
    await this.append(
      ctx,
      'exec.finished',
      ctx.exec,
      {
        exec: ctx.exec,
        exitCode: result.exitCode,
        durationMs,
        stdoutBytes: Buffer.byteLength(stdout, 'utf8'),
        stderrBytes: Buffer.byteLength(stderr, 'utf8'),
        truncated: truncated || out.cut || err.cut,
        killed: result.killed,
        stdout: out.text,
        stderr: err.text,
      },
      'any',
      'untrusted', // command output is content from outside
    );
    return {
      exec: ctx.exec,
      exitCode: result.exitCode,
      durationMs,
      stdout,
      stderr,
      truncated,
      killed: result.killed,
    };
  }

  // ---- health --------------------------------------------------------------------------------

  async health(): Promise<Record<string, { ok: boolean; detail?: string }>> {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await this.sandbox.ping();
      checks.docker = { ok: true };
    } catch (error) {
      checks.docker = { ok: false, detail: `${(error as Error).message}; set DOCKER_HOST or start dockerd` };
    }
    if (checks.docker.ok) {
      try {
        checks.image = {
          ok: true,
          detail: `${this.config.PALISADE_SANDBOX_IMAGE} = ${await this.imageId(true)}`,
        };
      } catch (error) {
        checks.image = {
          ok: false,
          detail: `${(error as Error).message}; build it with scripts/build-sandbox-image.sh`,
        };
      }
    }
    if (this.egress) checks.egress = await this.egress.health();
    checks.agent = {
      ok: true,
      detail: this.frozen ? `frozen: ${this.frozenReason}; runs are refused` : 'active',
    };
    return checks;
  }

  // ---- internals -----------------------------------------------------------------------------

  private async refuse(ctx: RunContext, refusal: Refusal): Promise<never> {
    await this.append(ctx, 'exec.grant.refused', ctx.exec, {
      grant: refusal.grantId,
      session: ctx.session,
      code: refusal.code,
      reason: refusal.message.slice(0, 4000),
    });
    throw new RpcError(RpcErrorCode.Forbidden, `grant refused (${refusal.code}): ${refusal.message}`, {
      reason: refusal.code,
      exec: ctx.exec,
    });
  }

  private verify(request: SandboxRunRequestDto): Grant {
    if (!request.grant) throw new Refusal('malformed', 'no grant');
    let grant: Grant;
    try {
      grant = verifyGrantForRequest(this.publicKey, request.grant, request);
    } catch (error) {
      if (!(error instanceof GrantError)) throw error;
      // The id of an authentic grant is worth recording; an unverified payload's is not trusted.
      const id =
        error.code === 'mismatch' || error.code === 'expired'
          ? this.grantIdOf(request.grant.payload)
          : undefined;
      throw new Refusal(error.code, error.message, id);
    }
    if (grant.session !== request.session)
      throw new Refusal('mismatch', 'session differs from the granted one', grant.grant);
    if (!isUuidV7(grant.approval))
      throw new Refusal('malformed', 'the grant names no approval id (UUIDv7)', grant.grant);
    return grant;
  }

  /** The grant's image must be the one this service runs, its network one this service provides. */
  private async checkImageAndNetwork(grant: Grant): Promise<void> {
    let image = await this.imageId(false);
    if (grant.image !== image) image = await this.imageId(true); // rebuilt since the last look?
    if (grant.image !== image)
      throw new Refusal('mismatch', 'image differs from the image this sandbox runs', grant.grant);
    const network = grant.limits.network;
    if (network !== 'none' && network !== this.egress?.network)
      throw new Refusal('mismatch', `network ${network} is not one this sandbox provides`, grant.grant);
  }

  private grantIdOf(payload: string): string | undefined {
    try {
      const id = (JSON.parse(payload) as { grant?: unknown }).grant;
      return isUuidV7(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** The configured image's ID (cached briefly; `fresh` asks Docker). */
  private async imageId(fresh: boolean): Promise<string> {
    if (!fresh && this.image && Date.now() - this.image.checkedAt < IMAGE_CACHE_MS) return this.image.id;
    const id = await this.sandbox.resolveImageId(this.config.PALISADE_SANDBOX_IMAGE);
    this.image = { id, checkedAt: Date.now() };
    return id;
  }

  private failureCode(error: unknown): ExecFailureCode {
    if (error instanceof SandboxImageNotFoundError) return 'image_unavailable';
    if (error instanceof SandboxUnavailableError) return 'sandbox_unavailable';
    return 'sandbox_failed';
  }

  private ensureEgress(): Promise<void> {
    if (!this.egress) return Promise.resolve();
    this.egressReady ??= (async () => {
      await this.egress!.start(await this.imageId(true));
      this.sandbox.setNetworkDns(this.egress!.network, [this.egress!.proxyAddress!]);
    })().catch((error: unknown) => {
      this.egressReady = undefined;
      throw error;
    });
    return this.egressReady;
  }

  private async fail(
    ctx: RunContext,
    grant: Grant | undefined,
    code: ExecFailureCode,
    reason: string,
    grantSpent: boolean,
  ): Promise<never> {
    await this.append(ctx, 'exec.failed', ctx.exec, {
      exec: ctx.exec,
      session: grant?.session ?? ctx.session,
      grant: grant?.grant,
      code,
      grantSpent,
      reason: reason.slice(0, 4000),
    });
    if (code === 'agent_frozen')
      throw new RpcError(RpcErrorCode.Forbidden, `agent_frozen: ${reason}`, {
        reason: code,
        exec: ctx.exec,
        grantSpent,
      });
    if (code === 'sandbox_failed')
      throw new RpcError(RpcErrorCode.Internal, `sandbox_failed: ${reason}`, {
        reason: code,
        exec: ctx.exec,
        grantSpent,
      });
    throw new RpcError(RpcErrorCode.Unavailable, `${code}: ${reason}`, {
      reason: code,
      exec: ctx.exec,
      grantSpent,
    });
  }

  private unavailable(error: unknown): RpcError {
    if (error instanceof SandboxImageNotFoundError)
      return new RpcError(
        RpcErrorCode.Unavailable,
        `image_unavailable: ${error.message}; run scripts/build-sandbox-image.sh`,
        {
          reason: 'image_unavailable',
        },
      );
    if (error instanceof SandboxError)
      return new RpcError(RpcErrorCode.Unavailable, `sandbox_unavailable: ${error.message}`, {
        reason: 'sandbox_unavailable',
      });
    return RpcError.from(error);
  }

  private async append(
    ctx: RunContext,
    type: string,
    aggregateId: string,
    data: Record<string, unknown>,
    expected: 'any' | 'none' = 'any',
    trust: 'trusted' | 'untrusted' = 'trusted',
  ): Promise<void> {
    const event = createEvent({
      type,
      source: SERVICE,
      aggregateId,
      data,
      correlationId: ctx.correlationId,
      causationId: ctx.causationId,
      actor: ACTOR,
      trust,
    });
    await this.store.append(event, expected);
  }

  /** Session and exec of the sandbox at `address` on the egress network. */
  private attribute(containerId: string | undefined): { session?: string; exec?: string } {
    if (!containerId) return {};
    const session = this.sandbox.describe().sessions.find((s) => s.containerId === containerId)?.sessionId;
    if (!session) return {};
    return { session, exec: this.running.get(session) ?? this.lastExec.get(session) };
  }

  private async appendDenial(
    who: { session?: string; exec?: string },
    data: Record<string, unknown>,
  ): Promise<void> {
    const id = who.exec ?? uuidv7();
    await this.append({ exec: id, session: who.session ?? '', correlationId: id }, 'exec.egress.denied', id, {
      exec: who.exec,
      session: who.session,
      network: this.egress!.network,
      ...data,
    });
  }

  private async recordEgressDenial(denial: EgressDenial): Promise<void> {
    try {
      const who = denial.client ? this.attribute(await this.egress!.containerAt(denial.client)) : {};
      await this.appendDenial(who, {
        via: 'proxy',
        // What a command tried to reach is its own text: it may carry a secret.
        destination: redactSecrets(denial.destination, this.knownSecrets).slice(0, 256),
        method: denial.method,
        client: denial.client,
        reason: denial.reason,
      });
    } catch (error) {
      this.logger.warn(`could not record an egress denial: ${(error as Error).message}`);
    }
  }

  /** DNS sink reports are gathered per (client, name) and recorded with the next filter read. */
  private queueDns(query: EgressDnsQuery): void {
    const key = `${query.client}\n${query.name}`;
    const pending = this.pendingDns.get(key);
    if (pending) pending.count += 1;
    else if (this.pendingDns.size < DNS_PENDING_MAX)
      this.pendingDns.set(key, { client: query.client, name: query.name, count: 1 });
    else this.dnsUnrecorded += 1;
  }

  /**
   * Reads what the egress filter dropped (reinstalling it if it went missing — throws if it cannot)
   * and the names the DNS sink refused, and records them as `exec.egress.denied`.
   */
  private async auditEgress(): Promise<void> {
    const drain: EgressDrain = await this.egress!.drain();
    const dns = [...this.pendingDns.values()];
    this.pendingDns.clear();
    const dnsUnrecorded = this.dnsUnrecorded;
    this.dnsUnrecorded = 0;
    if (drain.flows.length === 0 && dns.length === 0 && drain.unrecorded === 0 && dnsUnrecorded === 0) return;
    const members = await this.egress!.addresses().catch(() => new Map<string, string>());
    const records: Array<Promise<void>> = [];
    for (const flow of drain.flows) {
      const ported = flow.protocol === 'tcp' || flow.protocol === 'udp';
      records.push(
        this.appendDenial(this.attribute(members.get(flow.source)), {
          via: 'direct',
          destination: flow.destination,
          protocol: flow.protocol.slice(0, 16),
          port: ported ? flow.port : undefined,
          packets: Math.max(1, flow.packets),
          client: flow.source,
          reason: 'not_proxied',
        }),
      );
    }
    for (const query of dns)
      records.push(
        this.appendDenial(this.attribute(members.get(query.client)), {
          via: 'dns',
          // A name can carry data (a classic exfiltration channel): known secrets redacted.
          destination: redactSecrets(query.name, this.knownSecrets).slice(0, 256),
          protocol: 'udp',
          port: 53,
          packets: query.count,
          client: query.client,
          reason: 'dns_refused',
        }),
      );
    if (drain.unrecorded > 0)
      records.push(
        this.appendDenial(
          {},
          { via: 'direct', destination: '', packets: drain.unrecorded, reason: 'unrecorded' },
        ),
      );
    if (dnsUnrecorded > 0)
      records.push(
        this.appendDenial({}, { via: 'dns', destination: '', packets: dnsUnrecorded, reason: 'unrecorded' }),
      );
    const results = await Promise.allSettled(records);
    for (const r of results)
      if (r.status === 'rejected')
        this.logger.warn(`could not record an egress denial: ${(r.reason as Error).message}`);
  }

  private async onAgentEvent(event: PalisadeEvent): Promise<void> {
    if (event.subject !== DEFAULT_AGENT_ID) return;
    // Re-folded from the log, so redelivered or out-of-date events cannot flip the state back.
    await this.refreshFreeze();
    if (this.frozen) {
      const stopped = await this.sandbox.stopSessions().catch((error: Error) => {
        this.logger.warn(`freeze: could not stop sandboxes: ${error.message}`);
        return 0;
      });
      this.logger.warn(
        `agent frozen (${this.frozenReason}): runs refused, ${stopped} sandbox containers stopped`,
      );
    }
  }

  private async refreshFreeze(): Promise<void> {
    const events = await this.store.readAggregate('agent', DEFAULT_AGENT_ID);
    const { frozen, reason } = events.reduce((state, { event }) => applyFreeze(state, event), NOT_FROZEN);
    this.frozen = frozen;
    this.frozenReason = reason;
  }
}
