/**
 * Processes the telemetry benchmarks measure: an opsdeck server (its own process, as bench/api.ts
 * runs it, so the load generator does not share its event loop) and a real Prometheus as the peer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import pg from 'pg';

const BIN = join(import.meta.dirname, '../../bin/opsdeck');
export const TOKEN = 'bench-admin-token-0123456789';
export const PG_URL = process.env.OPSDECK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export type Store = 'sqlite' | 'postgres';
/** OPSDECK_BENCH_STORES=postgres runs one store only (as bench/jobs.ts). */
export const STORES = (process.env.OPSDECK_BENCH_STORES ?? 'sqlite,postgres').split(',') as Store[];

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

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

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based) of the whole line, in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

export function loadNote(before: number[]): string {
  const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); load average at start ${fmt(before)}, at end ${fmt(loadavg())}`;
}

export interface Opsdeck {
  store: Store;
  url: string;
  child: ChildProcess;
  /** Authenticated fetch. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Rows in telemetry_samples, read straight from the store. */
  countSamples(): Promise<number>;
  stop(): Promise<void>;
}

/** `node bin/opsdeck server` on a fresh store (temp dir for SQLite, a new schema in PostgreSQL). */
export async function startOpsdeck(store: Store, dataDir: string, extraEnv: Record<string, string> = {}): Promise<Opsdeck> {
  const schema = `bench_tel_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const dir = join(dataDir, `${store}-${schema}`);
  mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = { OPSDECK_DATA_DIR: dir, OPSDECK_ADMIN_TOKEN: TOKEN, OPSDECK_LOG_LEVEL: 'info', ...extraEnv };
  if (store === 'postgres') Object.assign(env, { OPSDECK_DATABASE_URL: PG_URL, OPSDECK_DATABASE_SCHEMA: schema });
  const nodeArgs = process.env.OPSDECK_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.OPSDECK_BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'server', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"opsdeck started"')) resolve(JSON.parse(line).url);
      else if (line.includes('"level":50') || line.includes('"level":60')) process.stderr.write(`[opsdeck ${store}] ${line}\n`);
    });
    child.on('exit', (code) => reject(new Error(`opsdeck server (${store}) exited with ${code}`)));
  });
  const request = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${TOKEN}`);
    return fetch(`${url}${path}`, { ...init, headers });
  };
  let sqlite: Database.Database | undefined;
  let pgClient: pg.Client | undefined;
  return {
    store,
    url,
    child,
    request,
    async countSamples() {
      if (store === 'sqlite') {
        sqlite ??= new Database(join(dir, 'opsdeck.db'), { readonly: true, fileMustExist: true });
        return Number((sqlite.prepare('select count(*) as n from telemetry_samples').get() as { n: number }).n);
      }
      if (!pgClient) {
        pgClient = new pg.Client({ connectionString: PG_URL });
        await pgClient.connect();
      }
      return Number((await pgClient.query(`select count(*) as n from ${schema}.telemetry_samples`)).rows[0].n);
    },
    async stop() {
      sqlite?.close();
      await pgClient?.end();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        // The server drains for up to 30 s; a profile (OPSDECK_BENCH_CPU_PROF) is written only on a clean exit.
        await Promise.race([exited, new Promise((r) => setTimeout(r, 35_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (store === 'postgres') {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
      }
    },
  };
}

/** Applies YAML documents through the resources API. */
export async function apply(server: Opsdeck, docs: string[]): Promise<void> {
  const res = await server.request('/api/v1/resources/apply', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files: [{ name: 'bench.yaml', content: docs.join('---\n') }] }),
  });
  if (!res.ok) throw new Error(`apply failed: ${res.status} ${await res.text()}`);
}

export interface Prometheus {
  url: string;
  child: ChildProcess;
  /** A counter or gauge from Prometheus' own /metrics (summed over its series). */
  selfMetric(name: string): Promise<number>;
  stop(): Promise<void>;
}

/** A real Prometheus with this config on this TSDB directory (backfilled blocks are loaded at start). */
export async function startPrometheus(workDir: string, configYaml: string, tsdbDir = join(workDir, 'tsdb')): Promise<Prometheus> {
  for (const bin of [PROMETHEUS, PROMTOOL]) if (!existsSync(bin)) throw new Error(`${bin} is missing: the peer measurement needs it`);
  const configFile = join(workDir, `prometheus-${Math.random().toString(36).slice(2, 8)}.yml`);
  writeFileSync(configFile, configYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${tsdbDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=30d',
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('Prometheus did not become ready within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    async selfMetric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** p50/p90/p99/max in ms over latencies, nearest rank. */
export function latencyStats(ms: number[]): { n: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
  return {
    n: s.length,
    p50_ms: round(at(50), 2),
    p90_ms: round(at(90), 2),
    p99_ms: round(at(99), 2),
    max_ms: round(s.at(-1) ?? Number.NaN, 2),
  };
}
