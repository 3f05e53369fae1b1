// At most N audit events per key per minute, so a flood of bad webhooks cannot flood the log; the
// suppressed ones are counted and reported with the next event that passes.
export class AuditLimiter {
  private readonly windows = new Map<string, { start: number; used: number; suppressed: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined: suppress; otherwise how many were suppressed since the last one that passed. */
  take(key: string): { suppressedBefore: number } | undefined {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= 60_000) {
      w = { start: t, used: 0, suppressed: w?.suppressed ?? 0 };
      this.windows.set(key, w);
      if (this.windows.size > 10_000) this.windows.delete(this.windows.keys().next().value as string);
    }
    if (w.used >= this.perMinute) {
      w.suppressed++;
      return undefined;
    }
    w.used++;
    const suppressedBefore = w.suppressed;
    w.suppressed = 0;
    return { suppressedBefore };
  }
}
