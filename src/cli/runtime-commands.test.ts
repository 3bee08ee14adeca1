import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { effect } from './fault.js';
import { commandVersionArgs, run } from './program.js';
import { setArg } from './release.js';
import { weightsArg } from './scale.js';

// release, scale/traffic, instances/stats and fault commands: argument parsing and the usage
// errors caught before any request (the commands against a server are in test/e2e/runtime-cli.test.ts).

/** The CLI in-process, pointed at a port nothing listens on. */
async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'opsdeck', ...args], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' },
    cwd: process.cwd(),
    stdin: Readable.from([]),
  });
  return { code, stdout, stderr };
}

describe('release commands', () => {
  it('collects --set KEY=VALUE pairs, values may hold =', () => {
    expect(setArg('env.A=1', setArg('command=node'))).toEqual({ command: 'node', 'env.A': '1' });
    expect(setArg('env.URL=postgres://x?a=b')).toEqual({ 'env.URL': 'postgres://x?a=b' });
    expect(() => setArg('=x')).toThrow(/KEY=VALUE/);
    expect(() => setArg('novalue')).toThrow(/KEY=VALUE/);
  });

  it('leaves --version before a command to the program and after one to the command', async () => {
    expect(commandVersionArgs(['--version'])).toEqual(['--version']);
    expect(commandVersionArgs(['-s', 'http://x', '--version'])).toEqual(['-s', 'http://x', '--version']);
    expect(commandVersionArgs(['release', 'create', 'feed', '--version', '1.2.0'])).toEqual([
      'release',
      'create',
      'feed',
      '--version=1.2.0',
    ]);
    expect(commandVersionArgs(['-s', 'http://x', 'scale', 'feed', '--version', 'v2', '--instances', '1'])).toEqual([
      '-s',
      'http://x',
      'scale',
      'feed',
      '--version=v2',
      '--instances',
      '1',
    ]);
    expect(commandVersionArgs(['logs', 'feed', '--', '--version', 'x'])).toEqual(['logs', 'feed', '--', '--version', 'x']);
    expect((await cli('--version')).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('refuses bad command lines with exit 2 before calling the server', async () => {
    expect((await cli('release', 'create', 'feed')).code).toBe(2);
    expect((await cli('release', 'create', 'feed', '--version', '1.0.0', '--set', 'oops')).code).toBe(2);
    expect((await cli('release', 'list')).code).toBe(2);
  });
});

describe('scale and traffic commands', () => {
  it('parses --weights as VERSION=PERCENT pairs, comma-separated or repeated', () => {
    expect(weightsArg('1.0.0=90,1.1.0=10')).toEqual({ '1.0.0': 90, '1.1.0': 10 });
    expect(weightsArg('b=33.3%', weightsArg('a=66.7'))).toEqual({ a: 66.7, b: 33.3 });
    expect(() => weightsArg('1.0.0')).toThrow(/VERSION=PERCENT/);
    expect(() => weightsArg('1.0.0=-5')).toThrow(/VERSION=PERCENT/);
  });

  it('refuses bad command lines with exit 2', async () => {
    expect((await cli('scale', 'feed')).code).toBe(2);
    expect((await cli('scale', 'feed', '--instances', '-1')).code).toBe(2);
    expect((await cli('traffic', 'feed', '--weights', 'nonsense')).code).toBe(2);
    expect((await cli('instances', 'kill', 'feed')).code).toBe(2);
    expect((await cli('instances', 'kill', 'feed', '--count', '0')).code).toBe(2);
    expect((await cli('stats', 'feed', '--window', 'forever')).code).toBe(2);
  });
});

describe('fault commands', () => {
  it('describes a fault by its effect', () => {
    expect(effect({ kind: 'latency', latencyMs: 200, jitterMs: 50 })).toBe('+200ms ±50ms');
    expect(effect({ kind: 'latency', latencyMs: 200 })).toBe('+200ms');
    expect(effect({ kind: 'status', status: 503 })).toBe('503');
    expect(effect({ kind: 'abort' })).toBe('abort');
  });

  it('needs exactly one kind, a percent and a TTL in whole seconds (exit 2 otherwise)', async () => {
    const none = await cli('fault', 'add', 'feed', '--percent', '10', '--ttl', '5m');
    expect(none).toMatchObject({ code: 2, stderr: 'fault add needs exactly one of --latency, --status or --abort\n' });
    expect((await cli('fault', 'add', 'feed', '--abort', '--status', '503', '--percent', '10', '--ttl', '5m')).code).toBe(2);
    expect((await cli('fault', 'add', 'feed', '--abort', '--jitter', '5ms', '--percent', '10', '--ttl', '5m')).code).toBe(2);
    expect((await cli('fault', 'add', 'feed', '--abort', '--percent', '10', '--ttl', '1500ms')).code).toBe(2);
    expect((await cli('fault', 'add', 'feed', '--abort', '--percent', '0', '--ttl', '5m')).code).toBe(2);
    expect((await cli('fault', 'add', 'feed', '--status', '200', '--percent', '10', '--ttl', '5m')).code).toBe(2);
    expect((await cli('fault', 'add', 'feed', '--latency', 'soon', '--percent', '10', '--ttl', '5m')).code).toBe(2);
    expect((await cli('fault', 'add', 'feed', '--abort', '--ttl', '5m')).code).toBe(2);
  });
});
