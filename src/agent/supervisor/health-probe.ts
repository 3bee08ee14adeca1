import { request } from 'node:http';

export interface ProbeResult {
  ok: boolean;
  status?: number;
  error?: string;
}

/**
 * One HTTP health check: 2xx/3xx within `timeoutMs` is healthy. A fresh connection per probe
 * (no keep-alive agent) so a wedged socket can't make a healthy instance look dead or vice versa.
 * The timeout is wall-clock I/O, not a product timer, so it uses setTimeout rather than the Clock.
 */
export function probeHttp(options: { host: string; port: number; path: string; timeoutMs: number }): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request(
      {
        host: options.host,
        port: options.port,
        path: options.path,
        method: 'GET',
        agent: false,
        headers: { 'user-agent': 'opsdeck-agent' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        finish({ ok: status >= 200 && status < 400, status });
      },
    );
    const timer = setTimeout(() => finish({ ok: false, error: `timed out after ${options.timeoutMs} ms` }), options.timeoutMs);
    timer.unref();
    req.on('error', (error) => finish({ ok: false, error: error.message }));
    req.end();
  });
}
