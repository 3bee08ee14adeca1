import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { modules as appModules } from '../../src/app.js';
import { FakeClock } from '../../src/core/clock.js';
import { defineModule } from '../../src/core/module.js';
import { DIALECTS } from '../../src/testing/databases.js';
import { waitFor } from '../../src/testing/fleet.js';
import { startTestServer, type TestServer } from '../../src/testing/server.js';

const BIN = join(import.meta.dirname, '../../bin/opsdeck');

/** A module whose job handler records each run, to count executions across restarts. */
const recorder = defineModule({
  id: 'test-recorder',
  migrations: [
    {
      name: '0001_runs',
      up: (db) =>
        db.schema
          .createTable('test_runs')
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute(),
    },
  ],
  setup({ core }) {
    core.jobs.handle('test.record', async ({ job }) => {
      await sql`insert into test_runs (job_id, at) values (${job.id}, ${core.clock.now()})`.execute(core.db);
    });
    return {};
  },
});

async function runs(server: TestServer): Promise<{ job_id: string; at: number }[]> {
  const result = await sql<{ job_id: string; at: number }>`select job_id, at from test_runs`.execute(server.core.db);
  return result.rows.map((r) => ({ job_id: r.job_id, at: Number(r.at) }));
}

describe.each(DIALECTS)('restart on %s', (dialect) => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    const last = servers.pop();
    for (const s of servers.splice(0)) await s.close(1000);
    await last?.destroy();
  });

  it('a job scheduled before a restart runs once after it', async () => {
    const clock = new FakeClock('2026-05-01T10:00:00Z');
    const first = await startTestServer({ dialect, clock, modules: [...appModules, recorder] });
    servers.push(first);
    const job = await first.core.jobs.schedule('test.record', {}, { delayMs: 60 * 60_000 });
    await first.core.jobs.runDue();
    expect(await runs(first)).toEqual([]);
    await first.close(1000);

    clock.advance(60 * 60_000);
    const second = await startTestServer({ dialect, clock, modules: [...appModules, recorder], store: first.store });
    servers.push(second);
    // The server's own runner loop may claim the due job before runDue does; either way it runs once.
    await second.core.jobs.runDue();
    await waitFor('the job to be done', async () => (await second.core.jobs.get(job.id))?.state === 'done');
    await second.core.jobs.runDue();
    expect(await runs(second)).toEqual([{ job_id: job.id, at: clock.now() }]);
  });
});

function startProcess(args: string[], env: Record<string, string>): { child: ChildProcess; started: Promise<string> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const started = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'opsdeck started') resolve(entry.url ?? '');
      } catch {}
    });
    child.on('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
  return { child, started };
}

describe('opsdeck server process', () => {
  let dataDir: string;
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts with env config, serves, and exits 0 on SIGTERM', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-proc-'));
    const { child, started } = startProcess(['server', '--port', '0', '--host', '127.0.0.1'], {
      OPSDECK_DATA_DIR: dataDir,
      OPSDECK_ADMIN_TOKEN: 'automation-token-0123456789',
      OPSDECK_LOG_LEVEL: 'info',
    });
    const url = await started;
    const res = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: 'Bearer automation-token-0123456789' } });
    expect(await res.json()).toEqual({ name: 'admin', role: 'admin' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a bad flag with exit code 2 naming it', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-proc-'));
    const child = spawn(process.execPath, [BIN, 'server', '--role', 'boss'], { env: { ...process.env, OPSDECK_DATA_DIR: dataDir } });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--role/);
  });
});
