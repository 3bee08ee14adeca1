import type { Clock } from '../clock.js';

/**
 * The runner's sleep: until a given time on the Clock, cut short when something becomes due
 * sooner. Wake-ups that arrive while the runner is busy are remembered until its next look.
 */
export class Alarm {
  private sleeping?: { until: number; wake(): void };
  private requested = Number.POSITIVE_INFINITY;
  /** Future times to look again although nothing announced itself (see hint()). */
  private hints: number[] = [];

  constructor(private readonly clock: Clock) {}

  /** Called before each look at the table: what was announced until now, that look will see. */
  reset(now: number): void {
    this.requested = Number.POSITIVE_INFINITY;
    this.hints = this.hints.filter((t) => t > now);
  }

  /** `until`, or earlier if a wake-up or hint asked for it. */
  target(until: number): number {
    return Math.min(until, this.requested, this.hints[0] ?? Number.POSITIVE_INFINITY);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let cancel = () => {};
      const sleeping = {
        until: this.clock.now() + ms,
        wake: () => {
          if (this.sleeping !== sleeping) return;
          this.sleeping = undefined;
          cancel();
          resolve();
        },
      };
      this.sleeping = sleeping;
      cancel = this.clock.setTimer(ms, sleeping.wake);
    });
  }

  /** Something becomes due at `at`: cut the current sleep short if it would oversleep. */
  wake(at: number = Number.NEGATIVE_INFINITY): void {
    if (at < this.requested) this.requested = at;
    if (this.sleeping && at < this.sleeping.until) this.sleeping.wake();
  }

  /** Look again at these times, whether or not anything is announced (bounded list, earliest kept). */
  hint(times: number[]): void {
    this.hints = [...new Set([...this.hints, ...times])].sort((a, b) => a - b).slice(0, 32);
    this.wake(Math.min(...times));
  }
}
