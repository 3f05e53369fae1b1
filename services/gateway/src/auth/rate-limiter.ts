/**
 * Token buckets in memory: `perMinute` tokens, refilled continuously. Per replica (each gateway process
 * keeps its own), which bounds a client to perMinute × replicas; login lockouts are the shared,
 * PostgreSQL-backed part.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token: 0 if allowed, else the seconds to wait (for Retry-After). */
  take(key: string, now = Date.now()): number {
    const rate = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    if (this.buckets.size >= this.maxKeys && !this.buckets.has(key)) this.evictFull(now);
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000));
  }

  /** Drops buckets that have refilled completely (they carry no information). */
  private evictFull(now: number): void {
    const rate = this.perMinute / 60_000;
    for (const [k, b] of this.buckets)
      if (b.tokens + (now - b.at) * rate >= this.perMinute) this.buckets.delete(k);
  }
}

/** Requests per minute per caller (API key or session), shared by REST and WebSocket requests. */
export class RequestLimiter extends RateLimiter {}
