/**
 * Router benchmark: the same load against
 *  (a) one upstream instance directly,
 *  (b) opsdeck's router (own process) with a 90/10 split over two upstream versions,
 *  (c) nginx with the equivalent weighted upstream (weight=9 / weight=1, keepalive 64).
 * Two measurements each: max throughput (autocannon, 50 connections) and latency at a steady
 * 1,000 req/s (an open-loop paced generator; autocannon's overallRate is run too, for reference).
 * Targets: router >= 0.5x nginx throughput; <= 1 ms added p99 vs direct at 1,000 req/s.
 *
 *   npm run bench -- router      (BENCH_DURATION_S=4, BENCH_ROUNDS=5 by default)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { type BenchResult, percentile } from './harness.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = 50;
const RATE = 1000;
const WARMUP_S = 2;
const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

type Row = Record<string, string | number>;

async function spawnReady(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"ready"')) resolve(JSON.parse(line).ready);
    });
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startNginx(dir: string, upstreams: number[]): Promise<{ child: ChildProcess; port: number }> {
  if (!NGINX) throw new Error('nginx not found: apt-get update && apt-get install -y nginx');
  const port = await freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { recursive: true, mode: 0o777 });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  upstream bench {
    server 127.0.0.1:${upstreams[0]} weight=9;
    server 127.0.0.1:${upstreams[1]} weight=1;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  const child = spawn(NGINX, ['-c', conf, '-p', dir, '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${dir}/nginx.pid;`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port);
  return { child, port };
}

function cannon(opts: autocannon.Options, latencies?: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    if (latencies) instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

/**
 * Open-loop load at a steady rate: requests are started on schedule whatever the responses do, so the
 * latency is that of a proxy under 1,000 req/s, not of a closed loop that slows down with it.
 */
async function paced(
  port: number,
  rate: number,
  seconds: number,
  agent: Agent,
): Promise<{ rps: number; latencies: number[]; errors: number; non2xx: number }> {
  const total = rate * seconds;
  const latencies: number[] = [];
  let sent = 0;
  let finished = 0;
  let errors = 0;
  let non2xx = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const done = () => {
      if (++finished === total) resolve();
    };
    const fire = () => {
      const t0 = performance.now();
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          if ((res.statusCode ?? 0) >= 300) non2xx++;
          done();
        });
      });
      req.on('error', () => {
        errors++;
        done();
      });
      req.end();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
      while (sent < due) {
        sent++;
        fire();
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const rps = total / ((performance.now() - started) / 1000);
  return { rps, latencies, errors, non2xx };
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
const median = (values: number[]) => percentile(values, 50);

interface Sample {
  rps: number;
  /** CPU time (user + system) of the target's own processes per request; max-throughput runs only. */
  cpuUsPerReq?: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** utime + stime in clock ticks (USER_HZ, 100 on Linux) of the given processes. */
function cpuTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

async function maxThroughput(target: Target): Promise<Sample> {
  const before = cpuTicks(target.pids);
  const r = await cannon({ url: `http://127.0.0.1:${target.port}/`, connections: CONNECTIONS, duration: DURATION_S });
  const cpuUsPerReq = ((cpuTicks(target.pids) - before) * 10_000) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, cpuUsPerReq, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx };
}

async function steadyRate(port: number, agent: Agent): Promise<Sample> {
  const r = await paced(port, RATE, DURATION_S, agent);
  return { rps: r.rps, p50: percentile(r.latencies, 50), p99: percentile(r.latencies, 99), errors: r.errors, non2xx: r.non2xx };
}

async function autocannonRate(port: number): Promise<Sample> {
  const latencies: number[] = [];
  const r = await cannon({ url: `http://127.0.0.1:${port}/`, connections: 10, overallRate: RATE, duration: DURATION_S }, latencies);
  return {
    rps: r.requests.average,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

/** Median per metric over rounds; errors are summed. */
function summarize(target: string, load: string, samples: Sample[]): Row {
  const cpu = samples.flatMap((s) => (s.cpuUsPerReq === undefined ? [] : [s.cpuUsPerReq]));
  return {
    target,
    load,
    'req/s': Math.round(median(samples.map((s) => s.rps))),
    'cpu_us/req': cpu.length ? round(median(cpu), 1) : '',
    p50_ms: round(median(samples.map((s) => s.p50))),
    p99_ms: round(median(samples.map((s) => s.p99))),
    p99_rounds: samples.map((s) => round(s.p99, 2)).join(' / '),
    errors: samples.reduce((n, s) => n + s.errors, 0),
    non2xx: samples.reduce((n, s) => n + s.non2xx, 0),
  };
}

/**
 * Every target runs in every round, one after the other, so background load on a shared machine hits
 * all of them alike; the rows report the median round.
 */
interface Target {
  name: string;
  port: number;
  /** The processes doing the target's work (the upstream itself for direct; the proxy for the others). */
  pids: number[];
}

async function measureAll(targets: Target[]): Promise<Row[]> {
  const agents = targets.map(() => new Agent({ keepAlive: true, maxSockets: 256 }));
  for (const [i, t] of targets.entries()) {
    await cannon({ url: `http://127.0.0.1:${t.port}/`, connections: CONNECTIONS, duration: WARMUP_S });
    await paced(t.port, RATE, WARMUP_S, agents[i]);
  }
  const max = targets.map((): Sample[] => []);
  const steady = targets.map((): Sample[] => []);
  const bursty = targets.map((): Sample[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, t] of targets.entries()) max[i].push(await maxThroughput(t));
    for (const [i, t] of targets.entries()) steady[i].push(await steadyRate(t.port, agents[i]));
  }
  for (const [i, t] of targets.entries()) bursty[i].push(await autocannonRate(t.port));
  for (const agent of agents) agent.destroy();
  return targets.flatMap((t, i) => [
    summarize(t.name, `max, ${CONNECTIONS} conns`, max[i]),
    summarize(t.name, `${RATE} req/s paced`, steady[i]),
    summarize(t.name, `${RATE} req/s autocannon overallRate`, bursty[i]),
  ]);
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-bench-router-'));
  const children: ChildProcess[] = [];
  try {
    const v1 = await spawnReady([join(import.meta.dirname, 'router-upstream.ts'), 'v1']);
    const v2 = await spawnReady([join(import.meta.dirname, 'router-upstream.ts'), 'v2']);
    children.push(v1.child, v2.child);
    const config = {
      versions: [
        { version: 'v1', weight: 90, port: v1.port },
        { version: 'v2', weight: 10, port: v2.port },
      ],
    };
    const router = await spawnReady([join(import.meta.dirname, 'router-process.ts'), JSON.stringify(config)]);
    children.push(router.child);
    const nginx = await startNginx(dir, [v1.port, v2.port]);
    let rows: Row[];
    try {
      const nginxPids = [
        nginx.child.pid!,
        ...readFileSync(`/proc/${nginx.child.pid}/task/${nginx.child.pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      ];
      rows = await measureAll([
        { name: 'direct (v1)', port: v1.port, pids: [v1.child.pid!] },
        { name: 'opsdeck router 90/10', port: router.port, pids: [router.child.pid!] },
        { name: 'nginx 90/10', port: nginx.port, pids: nginxPids },
      ]);
    } finally {
      await stop(nginx.child, 'SIGQUIT');
      const log = readFileSync(join(dir, 'error.log'), 'utf8').trim();
      if (log) console.error(`nginx error.log:\n${log}`);
    }

    const pick = (target: string, load: string) =>
      rows.find((r) => String(r.target).startsWith(target) && String(r.load).startsWith(load))!;
    const throughput = Number(pick('opsdeck', 'max')['req/s']) / Number(pick('nginx', 'max')['req/s']);
    const added = (target: string) =>
      Number(pick(target, `${RATE} req/s paced`).p99_ms) - Number(pick('direct', `${RATE} req/s paced`).p99_ms);
    const addedRouter = added('opsdeck');
    // Background load only ever adds latency, so the quietest round is the best estimate of the proxy's own cost.
    const best = (target: string) =>
      Math.min(
        ...String(pick(target, `${RATE} req/s paced`).p99_rounds)
          .split(' / ')
          .map(Number),
      );
    const bestAdded = (target: string) => best(target) - best('direct');
    return {
      name: 'router',
      rows,
      notes: [
        `router/nginx throughput: ${throughput.toFixed(2)}x (target >= 0.5x) ${throughput >= 0.5 ? 'MET' : 'NOT MET'}`,
        `added p99 at ${RATE} req/s vs direct, median rounds: router ${addedRouter.toFixed(3)} ms (target <= 1 ms) ${addedRouter <= 1 ? 'MET' : 'NOT MET'}; nginx ${added('nginx').toFixed(3)} ms`,
        `added p99 at ${RATE} req/s vs direct, quietest round of each: router ${bestAdded('opsdeck').toFixed(3)} ms ${bestAdded('opsdeck') <= 1 ? 'MET' : 'NOT MET'}; nginx ${bestAdded('nginx').toFixed(3)} ms`,
        `Median of ${ROUNDS} interleaved rounds of ${DURATION_S} s per target and load (p99_rounds lists each round), after a ${WARMUP_S} s warm-up; autocannon overallRate: one round.`,
        `nginx ${NGINX ?? '?'} with worker_processes 1 (the router is one Node process).`,
        'cpu_us/req: user + system CPU of the target’s own processes (the upstream for direct; router or nginx master + worker) per request during the max runs; unlike req/s it does not depend on how the shared cores were split.',
        'Load generator (this process), router or nginx, and the two upstream Node processes all share this machine’s cores.',
        `"paced": open loop, one request every ${1000 / RATE} ms on a keep-alive pool, latency per request in µs precision.`,
        '"autocannon overallRate": each connection fires its per-second quota back to back then idles, so these are bursts at saturation, not a steady rate.',
      ],
    };
  } finally {
    for (const child of children) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
