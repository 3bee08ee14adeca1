/** Retry delays: exponential with full jitter (AWS architecture blog), so failing replicas don't retry in lockstep. */
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 5 * 60 * 1000;

/**
 * Delay before the next attempt after `attempt` failed attempts (1-based): uniform in
 * [0, min(cap, base·2^(attempt-1))). `random` returns [0, 1), like Math.random.
 */
export function backoffDelayMs(attempt: number, random: () => number, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
