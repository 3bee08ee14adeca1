import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVER, httpGet, waitFor } from './test-harness.js';

// The fixture is shared by runtime tests and benches: its knobs are checked here, directly.
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function startFixture(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, [FIXTURE_SERVER], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`fixture exited with ${code}: ${output}`)));
  });
  return { child, port, output: () => output };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('fixture server', () => {
  it('answers with its identity, counts requests by status and exposes a latency histogram', async () => {
    const { port } = await startFixture({ OPSDECK_SERVICE: 's', OPSDECK_VERSION: 'v', OPSDECK_INSTANCE: 's-v-1' });
    const body = JSON.parse((await httpGet(port, '/x?y=1')).body);
    expect(body).toMatchObject({ service: 's', version: 'v', instance: 's-v-1', path: '/x' });
    expect((await httpGet(port, '/healthz')).status).toBe(200);
    const metrics = (await httpGet(port, '/metrics')).body;
    expect(metrics).toContain('fixture_requests_total{status="200"} 1');
    expect(metrics).toContain('fixture_request_duration_seconds_count 1');
    expect(metrics).toMatch(/fixture_request_duration_seconds_bucket\{le="\+Inf"\} 1/);
  });

  it('injects errors, latency and failing health checks', async () => {
    const { port } = await startFixture({ ERROR_RATIO: '1', ADDED_LATENCY_MS: '150', FAIL_HEALTH: '1' });
    const began = Date.now();
    expect((await httpGet(port, '/')).status).toBe(500);
    expect(Date.now() - began).toBeGreaterThanOrEqual(140);
    expect((await httpGet(port, '/healthz')).status).toBe(503);
    expect((await httpGet(port, '/metrics')).body).toContain('fixture_requests_total{status="500"} 1');
  });

  it('can hang its health check, and still shuts down gracefully', async () => {
    const { child, port } = await startFixture({ HANG_HEALTH: '1' });
    const hung = new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, () => resolve('answered'));
      req.setTimeout(300, () => {
        req.destroy();
        resolve('timed out');
      });
      req.on('error', () => {});
      req.end();
    });
    expect(await hung).toBe('timed out');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('crashes after N requests and exits at once when told to', async () => {
    const { child, port, output } = await startFixture({ CRASH_AFTER_REQUESTS: '2' });
    await httpGet(port, '/healthz'); // probes don't count
    expect((await httpGet(port, '/1')).status).toBe(200);
    expect((await httpGet(port, '/2')).status).toBe(200);
    expect(await exited(child)).toBe(1);
    expect(output()).toContain('crashing after 2 requests');
    await expect(startFixture({ EXIT_IMMEDIATELY: '1' })).rejects.toThrow(/EXIT_IMMEDIATELY is set/);
  });

  it('with STRICT_STDOUT=1 dies on a broken stdout pipe, as an unguarded service does; by default it keeps serving', async () => {
    for (const strict of [false, true]) {
      const { child, port } = await startFixture({ LOG_REQUESTS: '1', ...(strict ? { STRICT_STDOUT: '1' } : {}) });
      // The reader goes away, as a pipe to a killed agent does: the next log line hits EPIPE.
      child.stdout!.destroy();
      await httpGet(port, '/logged');
      if (strict) {
        expect(await exited(child)).toBe(1);
      } else {
        expect((await httpGet(port, '/still-here')).status).toBe(200);
        expect(child.exitCode).toBe(null);
      }
    }
  });

  it('on SIGTERM finishes in-flight requests and waits SLOW_SHUTDOWN_MS before exiting 0', async () => {
    const { child, port } = await startFixture({ SLOW_SHUTDOWN_MS: '300' });
    const inFlight = httpGet(port, '/slow?sleep=200');
    await waitFor('request in flight', async () => (await httpGet(port, '/metrics')).body.includes('fixture_in_flight_requests 1'));
    const began = Date.now();
    child.kill('SIGTERM');
    expect((await inFlight).status).toBe(200);
    expect(await exited(child)).toBe(0);
    expect(Date.now() - began).toBeGreaterThanOrEqual(280);
  });
});
