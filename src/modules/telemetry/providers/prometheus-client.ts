import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import type { QueryData } from '../contracts.js';
import type { MetricsProviderSpec } from './provider.schema.js';

/** A failure of the remote Prometheus, worded for the caller; `status` is what we answer with. */
export class ProviderError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorType = 'unavailable',
  ) {
    super(message);
  }
}

class RetryableError extends Error {}

export interface PrometheusClient {
  query(params: Record<string, string>): Promise<QueryData>;
  queryRange(params: Record<string, string>): Promise<QueryData>;
}

/**
 * Passes queries through to a Prometheus-compatible server unchanged, with a timeout, two
 * retries on connection errors and 5xx, and a circuit breaker that fails fast after five
 * consecutive failures for 30 s.
 */
export function prometheusClient(name: string, spec: MetricsProviderSpec, env: NodeJS.ProcessEnv = process.env): PrometheusClient {
  const base = (spec.url ?? '').replace(/\/+$/, '');
  const timeoutMs = Math.round((spec.timeoutSeconds ?? 10) * 1000);
  const policy = wrap(
    circuitBreaker(
      handleWhen((e) => e instanceof RetryableError),
      { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) },
    ),
    retry(
      handleWhen((e) => e instanceof RetryableError),
      { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) },
    ),
    timeout(timeoutMs, TimeoutStrategy.Aggressive),
  );
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (spec.auth?.type === 'bearer') headers.authorization = `Bearer ${env[spec.auth.tokenEnv] ?? ''}`;
  if (spec.auth?.type === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${spec.auth.username}:${env[spec.auth.passwordEnv] ?? ''}`).toString('base64')}`;
  }

  async function call(path: string, params: Record<string, string>): Promise<QueryData> {
    try {
      return await policy.execute(async ({ signal }) => {
        let res: Response;
        try {
          res = await fetch(`${base}${path}`, { method: 'POST', headers, body: new URLSearchParams(params).toString(), signal });
        } catch (err) {
          if (signal.aborted) throw err;
          throw new RetryableError(`cannot reach ${base}: ${(err as Error).message}`);
        }
        const text = await res.text();
        if (res.status >= 500) throw new RetryableError(`${base} answered ${res.status}: ${text.slice(0, 200)}`);
        let body: { status?: string; data?: QueryData; error?: string; errorType?: string };
        try {
          body = JSON.parse(text);
        } catch {
          throw new ProviderError(502, `metrics provider '${name}' (${base}) answered ${res.status} with a body that is not JSON`);
        }
        if (body.status !== 'success' || !body.data) {
          throw new ProviderError(
            res.status >= 400 ? res.status : 502,
            body.error ?? `metrics provider '${name}' failed`,
            body.errorType ?? 'bad_data',
          );
        }
        return body.data;
      });
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (err instanceof BrokenCircuitError) {
        throw new ProviderError(503, `metrics provider '${name}' (${base}) is failing; calls are paused for up to 30 s`);
      }
      if (err instanceof TaskCancelledError)
        throw new ProviderError(504, `metrics provider '${name}' (${base}) timed out after ${timeoutMs} ms`, 'timeout');
      throw new ProviderError(502, `metrics provider '${name}': ${(err as Error).message}`);
    }
  }

  return {
    query: (params) => call('/api/v1/query', params),
    queryRange: (params) => call('/api/v1/query_range', params),
  };
}
