import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AuditService } from './audit.service';
import { foldFreezeState, type FreezeStatus } from './core/auth.operations';

/**
 * Whether the agent is frozen, folded from `evt.agent.default` (agent.frozen / agent.thawed) — the log
 * is the truth, so a freeze from the CLI or another replica counts here too. Polled every second, and
 * re-read before every state-changing request (`current()`), so a freeze takes effect at once.
 */
@Injectable()
export class FreezeState implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('FreezeState');
  private status: FreezeStatus = { frozen: false, version: 0 };
  private nextSeq = 1;
  private inFlight?: Promise<FreezeStatus>;
  private timer?: NodeJS.Timeout;
  private loaded = false;

  constructor(private readonly audit: AuditService) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh().catch((error: Error) =>
      this.logger.error(`cannot read the agent's freeze state: ${error.message}`),
    );
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), 1_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Last known state (at most a second old). Until the log was read once, the agent counts as frozen. */
  isFrozen(): boolean {
    return !this.loaded || this.status.frozen;
  }

  get state(): FreezeStatus {
    return { ...this.status };
  }

  /** The state as of now (one read of the agent's subject past what is already known). */
  async current(): Promise<FreezeStatus> {
    return this.refresh();
  }

  refresh(): Promise<FreezeStatus> {
    this.inFlight ??= foldFreezeState(this.audit.events, this.status, this.nextSeq)
      .then(({ state, lastSeq }) => {
        this.status = state;
        this.nextSeq = Math.max(this.nextSeq, lastSeq + 1);
        this.loaded = true;
        return { ...state };
      })
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }
}
