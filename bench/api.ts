import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';
import type { BenchResult } from './harness.js';

const BIN = join(import.meta.dirname, '../bin/opsdeck');
const TOKEN = 'bench-admin-token-0123456789';
const PG_URL = process.env.OPSDECK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 100;

/** The server runs in its own process so the load generator does not share its event loop. */
async function startServer(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'server', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, ...env, OPSDECK_ADMIN_TOKEN: TOKEN, OPSDECK_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"opsdeck started"')) resolve(JSON.parse(line).url);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.stdout!.resume();
  return { url, child };
}

const serviceDoc = (i: number, description = 'bench') =>
  `apiVersion: opsdeck.dev/v1\nkind: Service\nmetadata: { name: svc-${i} }\nspec:\n  owner: bench-team\n  tier: ${(i % 5) + 1}\n  description: ${description}\n`;

function load(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
}

async function measure(store: string, env: Record<string, string>): Promise<Array<Record<string, string | number>>> {
  const { url, child } = await startServer(env);
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  try {
    const team = 'apiVersion: opsdeck.dev/v1\nkind: Team\nmetadata: { name: bench-team }\nspec: { members: [] }\n';
    const docs = [team, ...Array.from({ length: 50 }, (_, i) => serviceDoc(i))].join('---\n');
    const seeded = await fetch(`${url}/api/v1/resources/apply`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ files: [{ name: 'seed.yaml', content: docs }] }),
    });
    if (!seeded.ok) throw new Error(`seeding failed: ${await seeded.text()}`);

    let n = 0;
    const cases: [string, autocannon.Options][] = [
      ['GET /healthz (floor: no auth, no DB)', { url: `${url}/healthz` }],
      ['GET /api/v1/resources/Service (50 items)', { url: `${url}/api/v1/resources/Service`, headers }],
      [
        'POST apply (1 Service, changed each time)',
        {
          url: `${url}/api/v1/resources/apply`,
          method: 'POST',
          headers,
          requests: [
            {
              setupRequest: (req) => ({
                ...req,
                body: JSON.stringify({ files: [{ name: 'b.yaml', content: serviceDoc(n % 50, `v${n++}`) }] }),
              }),
            },
          ],
        },
      ],
    ];
    const rows: Array<Record<string, string | number>> = [];
    for (const [label, opts] of cases) {
      const r = await load({ connections: CONNECTIONS, duration: DURATION_S, ...opts });
      rows.push({
        store,
        case: label,
        'req/s': Math.round(r.requests.average),
        p50_ms: r.latency.p50,
        p99_ms: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors,
      });
    }
    return rows;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

export async function run(): Promise<BenchResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-bench-'));
  const schema = `bench_${process.pid}`;
  try {
    const rows = [
      ...(await measure('sqlite', { OPSDECK_DATA_DIR: join(dataDir, 'sqlite') })),
      ...(await measure('postgres', {
        OPSDECK_DATA_DIR: join(dataDir, 'pg'),
        OPSDECK_DATABASE_URL: PG_URL,
        OPSDECK_DATABASE_SCHEMA: schema,
      })),
    ];
    const floor = (store: string) => rows.find((r) => r.store === store && String(r.case).startsWith('GET /healthz'));
    for (const r of rows) r.p99_vs_floor = Number(r.p99_ms) / Math.max(1, Number(floor(String(r.store))?.p99_ms));
    return {
      name: 'api',
      rows,
      notes: [
        `${CONNECTIONS} concurrent connections for ${DURATION_S}s per case; server in its own process, load generator (autocannon) in this one, both on this machine.`,
        'Targets: p99 <= 50 ms for list and apply (seed 000: API p99 < 100 ms).',
      ],
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
  }
}
