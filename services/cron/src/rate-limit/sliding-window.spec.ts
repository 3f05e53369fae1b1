import { slidingWindowDecision } from './sliding-window';

describe('slidingWindowDecision', () => {
  const windowMs = 60_000;
  const now = 1_000_000;

  it('allows up to the limit inside the window', () => {
    const nine = Array.from({ length: 9 }, (_, i) => now - 1_000 * i);
    expect(slidingWindowDecision(nine, now, 10, windowMs)).toEqual({ allowed: true });
  });

  it('refuses the eleventh inside the window and says when to retry', () => {
    // ten creations, the oldest 50 s ago: room again in 10 s
    const ten = Array.from({ length: 10 }, (_, i) => now - 50_000 + i * 1_000);
    expect(slidingWindowDecision(ten, now, 10, windowMs)).toEqual({ allowed: false, retryAfterMs: 10_000 });
  });

  it('forgets creations older than the window (sliding, not fixed buckets)', () => {
    const old = Array.from({ length: 10 }, () => now - windowMs);
    expect(slidingWindowDecision(old, now, 10, windowMs)).toEqual({ allowed: true });
    const mixed = [
      ...Array.from({ length: 5 }, () => now - 61_000),
      ...Array.from({ length: 9 }, () => now - 1),
    ];
    expect(slidingWindowDecision(mixed, now, 10, windowMs)).toEqual({ allowed: true });
  });

  it('with more than the limit recorded, waits for enough of them to age out', () => {
    const twelve = Array.from({ length: 12 }, (_, i) => now - 30_000 + i);
    // 12 in the window, limit 10: the third oldest must leave (at now - 30 000 + 2 + 60 000)
    expect(slidingWindowDecision(twelve, now, 10, windowMs)).toEqual({
      allowed: false,
      retryAfterMs: 30_002,
    });
  });

  it('does not depend on the order of the recorded times', () => {
    expect(slidingWindowDecision([now - 5, now - 10], now, 2, windowMs)).toEqual({
      allowed: false,
      retryAfterMs: 59_990,
    });
  });
});
