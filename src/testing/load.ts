import { Agent, request } from 'node:http';

export interface LoadResult {
  sent: number;
  /** By HTTP status, or 'error:<code>' for connection-level failures. */
  outcomes: Map<string, number>;
  /** By the x-opsdeck-version response header. */
  versions: Map<string, number>;
  latenciesMs: number[];
  failures: number;
}

function get(url: URL, agent: Agent, headers: Record<string, string>): Promise<{ status: number; version?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, version: res.headers['x-opsdeck-version'] as string | undefined }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/**
 * Steady traffic from `concurrency` keep-alive clients until `count` requests were sent or
 * `until()` says stop. Every non-2xx and every connection error is counted as a failure.
 */
export async function runLoad(
  target: string,
  options: { count?: number; until?: () => boolean; concurrency?: number; headers?: (i: number) => Record<string, string> },
): Promise<LoadResult> {
  const url = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 8 });
  const result: LoadResult = { sent: 0, outcomes: new Map(), versions: new Map(), latenciesMs: [], failures: 0 };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const more = () => (options.count !== undefined ? result.sent < options.count : !options.until?.());
  const worker = async () => {
    while (more()) {
      const i = result.sent++;
      const started = performance.now();
      try {
        const { status, version } = await get(url, agent, options.headers?.(i) ?? {});
        bump(result.outcomes, String(status));
        if (version) bump(result.versions, version);
        if (status < 200 || status >= 300) result.failures++;
      } catch (err) {
        bump(result.outcomes, `error:${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        result.failures++;
      }
      result.latenciesMs.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  agent.destroy();
  return result;
}

/** Starts `runLoad` in the background; the returned function stops it and resolves to the result. */
export function startLoad(
  target: string,
  options: { concurrency?: number; headers?: (i: number) => Record<string, string> } = {},
): () => Promise<LoadResult> {
  let stop = false;
  const load = runLoad(target, { ...options, until: () => stop });
  return () => {
    stop = true;
    return load;
  };
}
