import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { modules } from '../../src/app.js';
import { loadConfig } from '../../src/core/config.js';
import { type RunningServer, startServer } from '../../src/core/kernel.js';
import { createLogger } from '../../src/core/logger.js';
import { defineModule } from '../../src/core/module.js';

// The CLI as users run it: bin/opsdeck in a child process, against a real server on a real port.

const BIN = fileURLToPath(new URL('../../bin/opsdeck', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The parent's environment minus any OPSDECK_* that would leak into the child. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPSDECK_')));
  return { ...env, NODE_NO_WARNINGS: '1', ...extra };
}

function exec(args: string[], env: Record<string, string>, cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: cleanEnv(env), cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running CLI process (watchers, the server) whose output can be awaited. */
class Running {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[], env: Record<string, string>, cwd: string) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), cwd });
    this.child.stdout?.on('data', (chunk) => {
      this.stdout += chunk;
    });
    this.child.stderr?.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> {
    let match: RegExpMatchArray | null = null;
    await vi.waitFor(
      () => {
        match = this[stream].match(pattern);
        if (!match) throw new Error(`no ${pattern} in ${stream}:\n${this[stream]}\n(stderr: ${this.stderr})`);
      },
      { timeout: 20_000, interval: 50 },
    );
    return match as unknown as RegExpMatchArray;
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

const TEAM = `apiVersion: opsdeck.dev/v1
kind: Team
metadata:
  name: feed
spec:
  members: []
`;

const service = (tier: number) => `apiVersion: opsdeck.dev/v1
kind: Service
metadata:
  name: feed
  labels:
    tier: t${tier}
spec:
  owner: feed
  tier: ${tier}
`;

// A test-only module: a job kind that always fails, to produce a dead letter.
const e2eModule = defineModule({
  id: 'e2e-cli',
  setup(ctx) {
    ctx.core.jobs.handle(
      'e2e.always-fails',
      async () => {
        throw new Error('boom: this job always fails');
      },
      { maxAttempts: 1 },
    );
  },
});

describe('opsdeck CLI against a running server', () => {
  let dataDir: string;
  let work: string;
  let server: RunningServer;
  let admin: string;
  const opsdeck = (args: string[], env: Record<string, string> = {}) =>
    exec(args, { OPSDECK_URL: server.url, OPSDECK_TOKEN: admin, ...env }, work);
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), content);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-e2e-cli-data-'));
    work = mkdtempSync(join(tmpdir(), 'opsdeck-e2e-cli-work-'));
    const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent', shutdownGraceMs: 2000 }, {});
    server = await startServer(config, { modules: [...modules, e2eModule], logger: createLogger({ level: 'silent' }) });
    expect(server.adminToken).toBeTruthy();
    admin = server.adminToken ?? '';
    write('deploy/a-team.yaml', TEAM);
    write('deploy/services/feed.yaml', service(1));
    write('deploy/README.md', '# not a manifest\n');
  });

  afterAll(async () => {
    await server?.close(2000);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('creates, lists and revokes tokens; a revoked token gets the plain 401 message', async () => {
    const created = await opsdeck(['token', 'create', '--name', 'ci', '--role', 'viewer']);
    expect(created.code).toBe(0);
    const ci = created.stdout.trim();
    expect(ci).toMatch(/^\S{20,}$/);
    expect(created.stderr).toContain('it will not be shown again');

    expect(await opsdeck(['whoami'], { OPSDECK_TOKEN: ci })).toMatchObject({ code: 0, stdout: 'ci (viewer)\n' });
    const forbidden = await opsdeck(['apply', '-f', 'deploy'], { OPSDECK_TOKEN: ci });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toBe("your token's role (viewer) may not do this: needs deployer or higher\n");

    const list = await opsdeck(['token', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+ROLE\s+STATUS/);
    expect(list.stdout).toMatch(/^ci\s+viewer\s+active\s+/m);

    expect(await opsdeck(['token', 'revoke', 'ci'])).toMatchObject({ code: 0, stdout: 'token "ci" revoked\n' });
    const json = JSON.parse((await opsdeck(['token', 'list', '-o', 'json'])).stdout) as { name: string; revokedAt: number | null }[];
    expect(json.find((t) => t.name === 'ci')?.revokedAt).toBeTypeOf('number');

    const revoked = await opsdeck(['get', 'services'], { OPSDECK_TOKEN: ci });
    expect(revoked).toEqual({ code: 1, stdout: '', stderr: 'the token was not accepted (set --token or OPSDECK_TOKEN)\n' });
  });

  it('applies a directory: created, then unchanged, then configured after an edit', async () => {
    const first = await opsdeck(['apply', '-f', 'deploy']);
    expect(first).toMatchObject({ code: 0, stdout: 'team/feed created\nservice/feed created\n' });
    expect((await opsdeck(['apply', '-f', 'deploy'])).stdout).toBe('team/feed unchanged\nservice/feed unchanged\n');

    expect(await opsdeck(['diff', '-f', 'deploy'])).toMatchObject({ code: 0, stdout: '' });
    write('deploy/services/feed.yaml', service(2));
    const diff = await opsdeck(['diff', '-f', 'deploy']);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^---/);
    expect(diff.stdout).toMatch(/^-\s+tier: 1$/m);
    expect(diff.stdout).toMatch(/^\+\s+tier: 2$/m);

    expect((await opsdeck(['apply', '-f', 'deploy'])).stdout).toBe('team/feed unchanged\nservice/feed configured\n');
    expect(await opsdeck(['diff', '-f', 'deploy'])).toMatchObject({ code: 0, stdout: '' });
  });

  it('refuses a batch with an error as a whole, naming file:line:column', async () => {
    write('batch/ok.yaml', TEAM.replace('name: feed', 'name: search'));
    write('batch/broken.yaml', service(9).replace('name: feed', 'name: search'));
    const result = await opsdeck(['apply', '-f', 'batch']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^batch\/broken\.yaml:9:\d+ \/spec\/tier: .+$/m);

    const team = await opsdeck(['get', 'team', 'search']);
    expect(team.code).toBe(1);
    expect(team.stderr).toMatch(/search/);
    expect(team.stderr).toMatch(/not exist|not found/);
  });

  it('gets resources as a table, JSON and YAML, by any spelling of the kind', async () => {
    const table = await opsdeck(['get', 'services']);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+.*\s+AGE$/);
    expect(row).toMatch(/^feed\s+/);

    const json = JSON.parse((await opsdeck(['get', 'Service', '-o', 'json'])).stdout) as {
      metadata: { name: string };
      spec: { tier: number };
    }[];
    expect(json.map((s) => [s.metadata.name, s.spec.tier])).toEqual([['feed', 2]]);

    const one = parse((await opsdeck(['get', 'service', 'feed', '-o', 'yaml'])).stdout) as { kind: string; generation: number };
    expect(one).toMatchObject({ kind: 'Service', generation: 2 });
    expect(parse((await opsdeck(['get', 'teams/feed', '-o', 'yaml'])).stdout)).toMatchObject({ kind: 'Team' });

    expect((await opsdeck(['get', 'services', '-l', 'tier=t2', '-o', 'json'])).stdout).toContain('"feed"');
    expect(await opsdeck(['get', 'services', '-l', 'tier=t1'])).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'no services found with labels tier=t1\n',
    });
    const unknown = await opsdeck(['get', 'widgets']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^unknown kind "widgets" \(known kinds: .*Service.*\)\n$/);
  });

  it('shows history, newest first', async () => {
    const history = await opsdeck(['history', 'service', 'feed']);
    expect(history.code).toBe(0);
    const rows = history.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^GENERATION\s+ACTION\s+BY\s+AGE$/);
    expect(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 2))).toEqual([
      ['2', 'configured'],
      ['1', 'created'],
    ]);
    const json = JSON.parse((await opsdeck(['history', 'service/feed', '-o', 'json'])).stdout) as { generation: number }[];
    expect(json.map((v) => v.generation)).toEqual([2, 1]);
  });

  it('lists changes, and follows new ones with --watch', async () => {
    const changes = await opsdeck(['changes', '--service', 'feed', '--since', '1h']);
    expect(changes.code).toBe(0);
    expect(changes.stdout).toMatch(/resources\.service\.applied\s+feed\s+Service\/feed\s+admin/);
    expect(changes.stdout).not.toContain('Team/feed');

    const watch = new Running(['changes', '--watch', '--service', 'feed'], { OPSDECK_URL: server.url, OPSDECK_TOKEN: admin }, work);
    try {
      await watch.waitFor('stdout', /Service\/feed/);
      const before = watch.stdout.split('\n').filter(Boolean).length;
      write('deploy/services/feed.yaml', service(3));
      await opsdeck(['apply', '-f', 'deploy']);
      await vi.waitFor(() => expect(watch.stdout.split('\n').filter(Boolean).length).toBe(before + 1), { timeout: 20_000 });
      expect(watch.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+resources\.service\.applied\s+feed/);
    } finally {
      watch.signal('SIGINT');
    }
    expect(await watch.exited).toBe(0);
  });

  it('watches the event stream with a topics filter', async () => {
    const watch = new Running(
      ['events', 'watch', '--topics', 'resources.team.*', '--after-seq', '0', '-o', 'json'],
      { OPSDECK_URL: server.url, OPSDECK_TOKEN: admin },
      work,
    );
    try {
      // Replayed from the start: the team applied earlier.
      await watch.waitFor('stdout', /"subject":"Team\/feed"/);
      write('more/ops.yaml', TEAM.replace('name: feed', 'name: ops'));
      expect((await opsdeck(['apply', '-f', 'more/ops.yaml'])).stdout).toBe('team/ops created\n');
      await watch.waitFor('stdout', /"subject":"Team\/ops"/);
      const events = watch.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string });
      expect(events.every((e) => e.type.startsWith('resources.team.'))).toBe(true);
    } finally {
      watch.signal('SIGINT');
    }
    expect(await watch.exited).toBe(0);
  });

  it('deletes a resource', async () => {
    expect(await opsdeck(['delete', 'services', 'feed'])).toMatchObject({ code: 0, stdout: 'service/feed deleted\n' });
    expect((await opsdeck(['get', 'service', 'feed'])).code).toBe(1);
    expect((await opsdeck(['delete', 'service', 'feed'])).code).toBe(1);
  });

  it('lists and verifies the audit log', async () => {
    const list = await opsdeck(['audit', 'list', '--since', '1h']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^SEQ\s+AGE\s+ACTOR\s+ACTION\s+TARGET/);
    expect(list.stdout).toMatch(/tokens\.create\s+token\/ci/);
    const applies = JSON.parse((await opsdeck(['audit', 'list', '--action', 'resources.apply', '--limit', '2', '-o', 'json'])).stdout) as {
      action: string;
    }[];
    expect(applies).toHaveLength(2);
    expect(applies.every((a) => a.action === 'resources.apply')).toBe(true);

    const verify = await opsdeck(['audit', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^audit log intact: \d+ entries verified\n$/);
  });

  it('lists dead jobs and retries one', async () => {
    const job = await server.core.jobs.schedule('e2e.always-fails', { why: 'e2e' });
    await vi.waitFor(
      async () => {
        await server.core.jobs.runDue();
        expect((await server.core.jobs.get(job.id))?.state).toBe('dead');
      },
      { timeout: 20_000, interval: 100 },
    );
    const dead = await opsdeck(['jobs', 'list', '--state', 'dead']);
    expect(dead.code).toBe(0);
    expect(dead.stdout).toMatch(/^ID\s+KIND\s+STATE\s+ATTEMPTS/);
    expect(dead.stdout).toContain(job.id);
    expect(dead.stdout).toMatch(/e2e\.always-fails\s+dead\s+1\/1/);
    expect(dead.stdout).toContain('boom: this job always fails');
    expect(await opsdeck(['jobs', 'list', '--state', 'cancelled'])).toMatchObject({ code: 0, stdout: '', stderr: 'no jobs match\n' });

    const retried = await opsdeck(['jobs', 'retry', job.id]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(job.id);
  });

  it('says plainly when the server is unreachable, and exits 2 for an unknown command', async () => {
    const port = await freePort();
    const unreachable = await opsdeck(['get', 'services'], { OPSDECK_URL: `http://127.0.0.1:${port}` });
    expect(unreachable).toEqual({
      code: 1,
      stdout: '',
      stderr: `cannot reach opsdeck at http://127.0.0.1:${port} (is the server running?)\n`,
    });
    const unknown = await opsdeck(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('opsdeck server', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-e2e-server-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const start = () =>
    new Running(['server', '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn'], { OPSDECK_DATA_DIR: dataDir }, tmpdir());

  it('prints the admin token once, serves the local CLI without setup and exits 0 on SIGTERM', async () => {
    const first = start();
    try {
      const [, url] = await first.waitFor('stderr', /listening on (http:\S+)/);
      const [, token] = await first.waitFor('stderr', /admin token \(written to .*admin-token\):\n\s+(\S+)/);
      expect(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()).toBe(token);
      // No --token and no OPSDECK_TOKEN: a local server's token is read from the data dir.
      const me = await exec(['whoami'], { OPSDECK_URL: url, OPSDECK_DATA_DIR: dataDir }, tmpdir());
      expect(me).toMatchObject({ code: 0, stdout: 'admin (admin)\n' });
    } finally {
      first.signal('SIGTERM');
    }
    expect(await first.exited).toBe(0);

    const second = start();
    try {
      await second.waitFor('stderr', /listening on http:/);
      expect(second.stderr).not.toContain('admin token');
    } finally {
      second.signal('SIGINT');
    }
    expect(await second.exited).toBe(0);
  });

  it('exits 2 naming the flag when its configuration is invalid', async () => {
    const bad = await exec(['server', '--port', 'seventy'], {}, tmpdir());
    expect(bad).toMatchObject({ code: 2, stderr: '--port (or OPSDECK_PORT) must be an integer from 0 to 65535, got "seventy"\n' });
    const env = await exec(['server'], { OPSDECK_ROLE: 'leader' }, tmpdir());
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('OPSDECK_ROLE');
  });
});
