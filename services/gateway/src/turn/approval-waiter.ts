// Waits for an approval to be resolved. The gateway's reactor feeds it every `exec.approval.resolved`
// event; a waiter also reads the approval's aggregate once after registering (and at its deadline),
// so a resolution that landed before the wait began is never missed.
import type { ExecApprovalResolvedData, PalisadeEvent } from '@palisade/contracts';
import type { EventStore } from '@palisade/event-log';

export interface Resolution {
  data: ExecApprovalResolvedData;
  eventId: string;
}

export class ApprovalWaiter {
  private readonly waiting = new Map<string, (resolution: Resolution) => void>();

  constructor(private readonly store: EventStore) {}

  /** Called by the reactor for each `exec.approval.resolved`. */
  resolved(event: PalisadeEvent): void {
    const data = event.data as ExecApprovalResolvedData;
    this.waiting.get(data.approval)?.({ data, eventId: event.id });
  }

  async wait(approval: string, deadline: Date, graceMs = 10_000): Promise<Resolution | undefined> {
    const result = new Promise<Resolution | undefined>((resolve) => {
      const timer = setTimeout(
        () => {
          this.waiting.delete(approval);
          void this.current(approval).then(resolve, () => resolve(undefined));
        },
        Math.max(0, deadline.getTime() - Date.now()) + graceMs,
      );
      this.waiting.set(approval, (resolution) => {
        clearTimeout(timer);
        this.waiting.delete(approval);
        resolve(resolution);
      });
    });
    const already = await this.current(approval).catch(() => undefined);
    if (already) this.waiting.get(approval)?.(already);
    return result;
  }

  private async current(approval: string): Promise<Resolution | undefined> {
    const events = await this.store.readAggregate('approval', approval);
    const last = [...events].reverse().find((e) => e.event.type === 'exec.approval.resolved');
    return last ? { data: last.event.data as ExecApprovalResolvedData, eventId: last.event.id } : undefined;
  }
}
