import { BrokenCircuitError, type CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { SendOutcome } from './outcome.js';

/** Consecutive transient failures to one destination, across all deliveries, that open its breaker. */
export const BREAKER_FAILURES = 10;
/** How long an open breaker refuses before letting one probe through. */
export const BREAKER_HALF_OPEN_MS = 10_000;

class TransientFailure extends Error {
  constructor(readonly outcome: SendOutcome) {
    super('transient failure');
  }
}

export type BreakerResult = SendOutcome | { ok: false; breakerOpen: true; permanent: false; status?: undefined; error: string };

export interface Breakers {
  /** Runs `call` through the destination's breaker; a refusal comes back without calling. */
  run(destination: string, call: () => Promise<SendOutcome>): Promise<BreakerResult>;
  state(destination: string): 'closed' | 'open' | 'half-open';
}

/**
 * One cockatiel breaker per destination (HTTP host:port or SMTP server), in this process: a dead
 * receiver stops costing each delivery a timeout, and one host failing never holds back another.
 * Only transient failures count: a 404 means the host is up and answering.
 */
export function createBreakers(options: { failures?: number; halfOpenMs?: number } = {}): Breakers {
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const breaker = (destination: string) => {
    let b = breakers.get(destination);
    if (!b) {
      b = circuitBreaker(
        handleWhen((e) => e instanceof TransientFailure),
        {
          halfOpenAfter: options.halfOpenMs ?? BREAKER_HALF_OPEN_MS,
          breaker: new ConsecutiveBreaker(options.failures ?? BREAKER_FAILURES),
        },
      );
      breakers.set(destination, b);
    }
    return b;
  };
  return {
    async run(destination, call) {
      try {
        return await breaker(destination).execute(async () => {
          const outcome = await call();
          if (!outcome.ok && !outcome.permanent) throw new TransientFailure(outcome);
          return outcome;
        });
      } catch (err) {
        if (err instanceof TransientFailure) return err.outcome;
        if (err instanceof BrokenCircuitError)
          return { ok: false, breakerOpen: true, permanent: false, error: `circuit open for ${destination} after repeated failures` };
        throw err;
      }
    },
    state(destination) {
      const s = breakers.get(destination)?.state;
      return s === CircuitState.Open || s === CircuitState.Isolated ? 'open' : s === CircuitState.HalfOpen ? 'half-open' : 'closed';
    },
  };
}
