// The creation rate limit as a pure decision over the creation times inside the window.

export type WindowDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Sliding window: at most `limit` creations in any `windowMs`. `times` are earlier creations (ms);
 * when the window is full, the caller may retry once enough of them have aged out to leave room.
 */
export function slidingWindowDecision(
  times: readonly number[],
  now: number,
  limit: number,
  windowMs: number,
): WindowDecision {
  const inWindow = times.filter((t) => t > now - windowMs && t <= now).sort((a, b) => a - b);
  if (inWindow.length < limit) return { allowed: true };
  // The (n - limit + 1)-th oldest must leave the window before one more creation fits.
  const mustExpire = inWindow[inWindow.length - limit];
  return { allowed: false, retryAfterMs: Math.max(1, mustExpire + windowMs - now) };
}
