import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from './program.js';

async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'opsdeck', ...args], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd: process.cwd(),
    stdin: Readable.from([]),
  });
  return { code, stdout, stderr };
}

describe('exit codes', () => {
  it('exits 0 for --help and --version', async () => {
    expect((await cli('--help')).code).toBe(0);
    const version = await cli('--version');
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('exits 2 for usage errors: unknown command or option, missing or bad arguments', async () => {
    const unknown = await cli('deploy-everything');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'deploy-everything'");
    expect((await cli('get', 'services', '--frobnicate')).code).toBe(2);
    expect((await cli('token', 'create', '--name', 'ci')).code).toBe(2);
    expect((await cli('token', 'create', '--name', 'ci', '--role', 'root')).code).toBe(2);
    expect((await cli('audit', 'list', '--since', 'yesterday')).code).toBe(2);
    expect((await cli('jobs', 'list', '--limit', '0')).code).toBe(2);
    expect((await cli('get', 'services', '-o', 'xml')).code).toBe(2);
    expect((await cli('apply')).code).toBe(2);
    expect((await cli('token')).code).toBe(2);
    expect((await cli('--server', 'not a url', 'get', 'services')).code).toBe(2);
  });

  it('exits 2 with the flag named when server configuration is invalid', async () => {
    const bad = await cli('server', '--port', '99999');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('--port (or OPSDECK_PORT) must be an integer from 0 to 65535, got "99999"\n');
    expect((await cli('server', '--role', 'leader')).code).toBe(2);
  });

  it('exits 1 with a plain message when a file is missing', async () => {
    const missing = await cli('apply', '-f', 'does/not/exist.yaml');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'does/not/exist.yaml: no such file or directory\n' });
  });
});
