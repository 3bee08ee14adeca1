import type { Clock } from '../../core/clock.js';

/** Why an instance's process went away when nobody asked it to stop. */
export type FailureReason = 'crash' | 'liveness' | 'not-ready' | 'killed';

export interface RestartPolicyConfig {
  /** First restart delay; doubles per consecutive failure. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Readiness held this long resets the backoff and clears a version's crash-loop window. */
  stableAfterMs: number;
  crashLoopWindowMs: number;
  crashLoopThreshold: number;
  /** An exit this soon after spawn, never ready, is a "quick exit" (bad command, bad config). */
  quickExitMs: number;
  /** Consecutive quick exits of a version's instances that mark the version failed. */
  quickExitLimit: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyConfig = {
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  stableAfterMs: 60_000,
  crashLoopWindowMs: 5 * 60_000,
  crashLoopThreshold: 5,
  quickExitMs: 1_000,
  quickExitLimit: 3,
};

/** Exponential restart delay of one instance: base, 2×base, 4×base … capped. */
export class RestartBackoff {
  private failures = 0;

  constructor(private readonly config: Pick<RestartPolicyConfig, 'backoffBaseMs' | 'backoffMaxMs'>) {}

  /** Records a failure and returns how long to wait before the next start. */
  next(): number {
    this.failures++;
    return backoffDelay(this.failures, this.config);
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}

export function backoffDelay(failures: number, config: Pick<RestartPolicyConfig, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  if (failures <= 0) return 0;
  // Cap the exponent first so that long-failing instances don't overflow to Infinity.
  const exponent = Math.min(failures - 1, 30);
  return Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** exponent);
}

/**
 * Counts a version's failures in a sliding window. Crossing the threshold is reported once
 * (the caller emits `version.crash-loop`); the loop ends when the window thins out or an
 * instance holds readiness long enough for the caller to clear() it.
 */
export class CrashLoopDetector {
  private failures: number[] = [];
  private looping = false;

  constructor(
    private readonly clock: Clock,
    private readonly config: Pick<RestartPolicyConfig, 'crashLoopWindowMs' | 'crashLoopThreshold'>,
  ) {}

  /** Records a failure now; true when this failure made the version enter the crash loop. */
  record(): boolean {
    const now = this.clock.now();
    this.failures.push(now);
    this.prune(now);
    const wasLooping = this.looping;
    this.looping = this.failures.length >= this.config.crashLoopThreshold;
    return this.looping && !wasLooping;
  }

  isLooping(): boolean {
    this.prune(this.clock.now());
    if (this.failures.length < this.config.crashLoopThreshold) this.looping = false;
    return this.looping;
  }

  /** Failures inside the window. */
  count(): number {
    this.prune(this.clock.now());
    return this.failures.length;
  }

  clear(): void {
    this.failures = [];
    this.looping = false;
  }

  private prune(now: number): void {
    const from = now - this.config.crashLoopWindowMs;
    while (this.failures.length > 0 && this.failures[0]! <= from) this.failures.shift();
  }
}

export interface ExitFacts {
  reason: FailureReason;
  /** The process reached readiness during this run. */
  everReady: boolean;
  /** It stayed ready for stableAfterMs (the backoff was reset during this run). */
  stable: boolean;
  uptimeMs: number;
  /** spawn() failed (ENOENT, EACCES …): the process never ran. */
  spawnError: boolean;
}

/** A process that ended by itself almost at once without ever serving: retrying won't help. */
export function isQuickExit(facts: ExitFacts, config: Pick<RestartPolicyConfig, 'quickExitMs'>): boolean {
  if (facts.reason !== 'crash' || facts.everReady) return false;
  return facts.spawnError || facts.uptimeMs < config.quickExitMs;
}

/**
 * Whether a failure counts toward crash-loop detection: kills are chaos, not the service's fault,
 * and a run that held readiness for the stable period was a healthy run that later failed.
 */
export function countsTowardCrashLoop(facts: ExitFacts): boolean {
  return facts.reason !== 'killed' && !facts.stable;
}
