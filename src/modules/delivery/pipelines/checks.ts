import type { LoadTest, SmokeCheck } from './pipelines.schema.js';

// The staging stage's checks against the staging copy's router port on this machine.

export interface SmokeResult {
  path: string;
  ok: boolean;
  status: number | null;
  ms: number;
  reason: string | null;
}

export interface LoadResult {
  ok: boolean;
  requests: number;
  errors: number;
  errorRatio: number;
  p99Ms: number;
  reason: string | null;
}

/** One GET with the expected status and, if given, a substring of the body. */
export async function smokeCheck(port: number, check: SmokeCheck): Promise<SmokeResult> {
  const expect = check.expectStatus ?? 200;
  const started = performance.now();
  const done = (ok: boolean, status: number | null, reason: string | null): SmokeResult => ({
    path: check.path,
    ok,
    status,
    ms: Math.round(performance.now() - started),
    reason,
  });
  try {
    const res = await fetch(`http://127.0.0.1:${port}${check.path}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout((check.timeoutSeconds ?? 5) * 1000),
    });
    const body = await res.text();
    if (res.status !== expect) return done(false, res.status, `GET ${check.path} answered ${res.status}, expected ${expect}`);
    if (check.expectBody !== undefined && !body.includes(check.expectBody)) {
      return done(false, res.status, `GET ${check.path} body does not contain ${JSON.stringify(check.expectBody)}`);
    }
    return done(true, res.status, null);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${check.timeoutSeconds ?? 5}s` : (e.cause?.code ?? e.message);
    return done(false, null, `GET ${check.path} failed: ${why}`);
  }
}

interface CannonResult {
  requests: { total: number };
  errors: number;
  '5xx': number;
  latency: { p99: number };
}

/**
 * An autocannon run with pass criteria: (5xx + connection errors + timeouts) / attempts at or
 * below maxErrorRatio, and p99 latency at or below maxP99Ms.
 */
export async function loadTest(port: number, spec: LoadTest, signal: AbortSignal): Promise<LoadResult> {
  // Loaded on demand: only staging stages with a loadTest need it.
  const { default: autocannon } = await import('autocannon');
  const result = await new Promise<CannonResult>((resolve, reject) => {
    const instance = autocannon(
      { url: `http://127.0.0.1:${port}${spec.path ?? '/'}`, connections: spec.connections, duration: spec.durationSeconds },
      (err, res) => (err ? reject(err) : resolve(res as unknown as CannonResult)),
    );
    signal.addEventListener('abort', () => instance.stop(), { once: true });
  });
  const attempts = result.requests.total + result.errors;
  const bad = result['5xx'] + result.errors;
  const errorRatio = attempts > 0 ? bad / attempts : 1;
  const p99Ms = result.latency.p99;
  const problems: string[] = [];
  if (attempts === 0) problems.push('no request completed');
  if (errorRatio > spec.maxErrorRatio) problems.push(`error ratio ${errorRatio.toFixed(4)} > ${spec.maxErrorRatio}`);
  if (p99Ms > spec.maxP99Ms) problems.push(`p99 ${p99Ms} ms > ${spec.maxP99Ms} ms`);
  return {
    ok: problems.length === 0,
    requests: attempts,
    errors: bad,
    errorRatio,
    p99Ms,
    reason: problems.length ? `load test failed: ${problems.join('; ')}` : null,
  };
}
