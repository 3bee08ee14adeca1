import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/opsdeck');
export const FIXTURE_SERVER = join(ROOT, 'test/fixtures/fixture-server.mjs');
const ADMIN = 'fleet-admin-token-0123456789';

/** A free loopback port (bound and released; fine for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

function startProcess(args: string[], env: Record<string, string>, readyMessage: RegExp): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<string>((resolve, reject) => {
    const onLine = (line: string) => {
      const m = readyMessage.exec(line);
      if (m) resolve(m[1] ?? line);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code, signal) => reject(new Error(`opsdeck ${args[0]} exited early (${code ?? signal})`)));
  });
  ready.catch(() => {});
  return { child, ready };
}

/**
 * A control plane and an agent as separate real processes on one temp data dir, the way
 * `opsdeck server` + `opsdeck agent` run in production, so tests can kill -9 either.
 */
export class Fleet {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-fleet-'));
  url = '';
  server?: ChildProcess;
  agent?: ChildProcess;
  private agentToken = '';
  private port = 0;

  async startServer(): Promise<void> {
    this.port ||= await freePort();
    const { child, ready } = startProcess(
      ['server', '--no-agent', '--port', String(this.port), '--host', '127.0.0.1', '--shutdown-grace-ms', '5000'],
      { OPSDECK_DATA_DIR: this.dataDir, OPSDECK_ADMIN_TOKEN: ADMIN, OPSDECK_LOG_LEVEL: 'info' },
      /"msg":"opsdeck started"/,
    );
    this.server = child;
    await ready;
    this.url = `http://127.0.0.1:${this.port}`;
    if (!this.agentToken) {
      const res = await this.api('/api/v1/tokens', { method: 'POST', json: { name: 'agent', role: 'agent' } });
      this.agentToken = ((await res.json()) as { token: string }).token;
    }
  }

  async startAgent(): Promise<void> {
    const { child, ready } = startProcess(
      ['agent', '--control-plane', this.url, '--state-dir', join(this.dataDir, 'agent')],
      { OPSDECK_AGENT_TOKEN: this.agentToken, OPSDECK_LOG_LEVEL: 'info' },
      /"msg":"agent started"/,
    );
    this.agent = child;
    await ready;
  }

  async start(): Promise<this> {
    await this.startServer();
    await this.startAgent();
    return this;
  }

  api(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${ADMIN}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(`${this.url}${path}`, { ...init, headers, body });
  }

  async apply(yamlText: string): Promise<void> {
    const res = await this.api('/api/v1/resources/apply', { method: 'POST', json: { files: [{ name: 'test.yaml', content: yamlText }] } });
    if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
  }

  async json<T>(path: string, init?: RequestInit & { json?: unknown }): Promise<T> {
    const res = await this.api(path, init);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  static async kill9(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  static async terminate(child: ChildProcess | undefined, timeoutMs = 20_000): Promise<number | null> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  async stop(): Promise<void> {
    await Fleet.terminate(this.agent);
    await Fleet.terminate(this.server);
    this.killStrays();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Instances an agent killed with -9 left behind (their pid files say where). */
  private killStrays(): void {
    const dir = join(this.dataDir, 'agent', 'instances');
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      return;
    }
    for (const f of files) {
      try {
        const { pid, pgid } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid?: number; pgid?: number };
        const target = pgid ? -pgid : pid;
        if (target) process.kill(target, 'SIGKILL');
      } catch {}
    }
  }
}

/**
 * A Team and a Service that runs the fixture server on the local runtime, with fast health checks
 * for tests and benches. `routing` is a YAML flow mapping; `extraSpec` is appended under `spec:`
 * (two-space indented lines, e.g. a `delivery:` section).
 */
export function fixtureServiceYaml(options: {
  name: string;
  team: string;
  port: number;
  instances?: number;
  env?: Record<string, string>;
  routing?: string;
  extraSpec?: string;
}): string {
  return `apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: ${options.team} }
spec: { members: [] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata:
  name: ${options.name}
  annotations: { opsdeck.dev/version: "1.0.0" }
spec:
  owner: ${options.team}
  tier: 2
  runtime:
    kind: process
    command: ${process.execPath}
    args: [${FIXTURE_SERVER}]
    env: ${JSON.stringify(options.env ?? {})}
    instances: ${options.instances ?? 2}
    port: ${options.port}
    healthCheck: { path: /healthz, intervalSeconds: 0.2, timeoutSeconds: 0.5, failureThreshold: 2 }
    shutdown: { signal: SIGTERM, gracePeriodSeconds: 5 }
    routing: ${options.routing ?? '{ timeoutSeconds: 5 }'}
${options.extraSpec ?? ''}`;
}
