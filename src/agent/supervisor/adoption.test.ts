import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PidFiles } from './pid-files.js';
import {
  cleanupHarnesses,
  createHarness,
  FIXTURE_SERVER,
  fixtureService,
  httpGet,
  isFixtureProcess,
  type RecordedEvent,
  readyInstances,
  waitFor,
} from './test-harness.js';

afterEach(cleanupHarnesses);

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('supervisor detach and adoption', () => {
  it('a new supervisor adopts the instances a detached one left running', async () => {
    const first = createHarness();
    const desired = [fixtureService('web', [{ version: 'v1', instances: 2 }])];
    await first.supervisor.apply(desired);
    await waitFor('2 ready', () => readyInstances(first.supervisor, 'web').length === 2);
    const before = readyInstances(first.supervisor, 'web').map((i) => [i.id, i.pid, i.port]);
    await first.supervisor.detach();
    for (const [, pid] of before) expect(isFixtureProcess(pid as number)).toBe(true);
    expect(new PidFiles(first.stateDir).list()).toHaveLength(2);

    // A pid file for a process that is gone is cleaned up, not adopted.
    const pidFiles = new PidFiles(first.stateDir);
    pidFiles.write({ ...pidFiles.list()[0]!, instance: 'web-v1-3', index: 3, pid: deadPid(), pgid: 999_999 });

    const second = first.restart();
    await second.supervisor.apply(desired);
    await waitFor('adopted instances ready', () => readyInstances(second.supervisor, 'web').length === 2);
    const after = readyInstances(second.supervisor, 'web').map((i) => [i.id, i.pid, i.port]);
    expect(after.sort()).toEqual(before.sort());
    expect(second.events.filter((e) => e.type === 'instance.started').map((e) => e.data!.adopted)).toEqual([true, true]);
    expect(existsSync(pidFiles.pathOf('web-v1-3'))).toBe(false);
    // Detach recorded how far the output was read: nothing is read twice.
    expect(second.supervisor.logs({ service: 'web', instance: 'web-v1-1' }).map((l) => l.line)).toEqual([
      expect.stringContaining('following its output files from where the last agent stopped reading'),
    ]);
    const served = await httpGet(after[0]![2] as number, '/');
    expect(JSON.parse(served.body).pid).toBe(after[0]![1]);

    // Adopted instances stop by signal like any other.
    await second.supervisor.stop();
    for (const [, pid] of before) expect(isFixtureProcess(pid as number)).toBe(false);
    expect(pidFiles.list()).toEqual([]);
  });

  it('instances keep running and logging with no agent; the next agent follows their output and reports their crash', async () => {
    const first = createHarness();
    // STRICT_STDOUT: a write error on stdout kills the fixture, as it would a service without an
    // 'error' handler on process.stdout. Over a pipe to a gone agent that is what EPIPE does.
    const env = { LOG_REQUESTS: '1', STRICT_STDOUT: '1', CRASH_AFTER_REQUESTS: '6' };
    const desired = [fixtureService('web', [{ version: 'v1', instances: 1, env }])];
    await first.supervisor.apply(desired);
    const { pid, port } = await waitFor('ready', () => readyInstances(first.supervisor, 'web')[0]);
    await httpGet(port, '/before-detach');
    await waitFor('line captured', () => first.supervisor.logs({ service: 'web' }).some((l) => l.line.startsWith('GET /before-detach')));
    await first.supervisor.detach();

    // No agent now: the instance keeps serving and writing its log lines (1 + 3 requests so far).
    for (let i = 1; i <= 3; i++) expect((await httpGet(port, `/while-detached-${i}`)).status).toBe(200);
    const outFile = join(first.stateDir, 'logs', 'web-v1-1.out.log');
    await waitFor('lines in its file', () => /GET \/while-detached-3 200 \d+ms\n$/.test(readFileSync(outFile, 'utf8')));
    // Having written them, it is still alive and serving.
    expect((await httpGet(port, '/healthz')).status).toBe(200);
    expect(isFixtureProcess(pid!)).toBe(true);

    const second = first.restart();
    await second.supervisor.apply(desired);
    await waitFor('adopted and ready', () => readyInstances(second.supervisor, 'web').find((i) => i.pid === pid));
    const lines = () => second.supervisor.logs({ service: 'web', instance: 'web-v1-1' });
    // What it wrote while no agent was reading is picked up where the first agent stopped …
    const backlog = await waitFor('lines written while detached', () => {
      const got = lines().filter((l) => l.line.startsWith('GET /'));
      return got.length === 3 && got;
    });
    expect(backlog.map((l) => [l.stream, l.line.split(' ')[1]])).toEqual([1, 2, 3].map((i) => ['stdout', `/while-detached-${i}`]));
    // … and what it writes now arrives live.
    await httpGet(port, '/after-adoption');
    await waitFor('live line', () => lines().some((l) => l.line.startsWith('GET /after-adoption 200')));

    // The 6th request crashes it: the crash of an adopted instance now comes with its last lines.
    await httpGet(port, '/boom');
    const crashed = await waitFor('crash event', () => second.events.find((e: RecordedEvent) => e.type === 'instance.crashed'));
    const output = crashed.data!.output as string[];
    expect(output.some((l) => l.startsWith('GET /boom 200'))).toBe(true);
    expect(output.at(-1)).toContain('crashing after 6 requests');
    expect(lines().find((l) => l.line.includes('crashing after'))!.stream).toBe('stderr');
    await waitFor('restarted', () => readyInstances(second.supervisor, 'web').find((i) => i.pid !== pid));
  });

  it('stops left-over instances no longer desired, and rolls adopted ones of an older spec', async () => {
    const first = createHarness();
    await first.supervisor.apply([
      fixtureService('web', [
        { version: 'v1', instances: 1 },
        { version: 'v2', instances: 1 },
      ]),
      fixtureService('gone', [{ version: 'v1', instances: 1 }]),
    ]);
    await waitFor('3 ready', () => first.supervisor.instances().filter((i) => i.state === 'ready').length === 3);
    const pids = new Map(first.supervisor.instances().map((i) => [i.id, i.pid!]));
    await first.supervisor.detach();

    const second = first.restart();
    let minReady = Number.POSITIVE_INFINITY;
    second.supervisor.onEndpointsChanged(() => {
      if (second.events.some((e) => e.type === 'instance.ready')) {
        minReady = Math.min(minReady, second.supervisor.endpoints('web').get('v1')?.length ?? 0);
      }
    });
    await second.supervisor.apply([fixtureService('web', [{ version: 'v1', instances: 1, env: { CHANGED: '1' } }])]);
    await waitFor('left-overs stopped', () => !isFixtureProcess(pids.get('web-v2-1')!) && !isFixtureProcess(pids.get('gone-v1-1')!));
    // The old-spec v1 instance is adopted and serves until its replacement is ready.
    const replaced = await waitFor('v1 replaced', () => {
      const ready = readyInstances(second.supervisor, 'web', 'v1');
      return ready.length === 1 && second.supervisor.instances().length === 1 && ready[0];
    });
    expect(replaced).toMatchObject({ id: 'web-v1-2' });
    expect(replaced.pid).not.toBe(pids.get('web-v1-1'));
    expect(minReady).toBe(1);
    expect(second.drains.map((d) => d.instance)).toEqual(['web-v1-1']);
    expect(isFixtureProcess(pids.get('web-v1-1')!)).toBe(false);
    await waitFor('pid files cleaned', () => {
      const records = new PidFiles(first.stateDir).list();
      return records.length === 1 && records[0]!.pid === replaced.pid;
    });
    expect(existsSync(join(first.stateDir, 'instances', 'gone-v1-1.json'))).toBe(false);
  });

  it('does not adopt or signal a live process that is not the one in the pid file', async () => {
    const { supervisor, stateDir } = createHarness();
    const desired = fixtureService('web', [{ version: 'v1', instances: 1 }]);
    const pidFiles = new PidFiles(stateDir);
    // The pid of the test runner itself: alive, but its command line is not the fixture server's.
    pidFiles.write({
      instance: 'web-v1-1',
      service: 'web',
      version: 'v1',
      index: 1,
      pid: process.pid,
      pgid: process.pid,
      port: 1,
      specHash: 'x',
      command: process.execPath,
      args: [FIXTURE_SERVER],
      startedAt: Date.now(),
    });
    await supervisor.apply([desired]);
    const ready = await waitFor('fresh instance ready', () => readyInstances(supervisor, 'web')[0]);
    expect(ready.pid).not.toBe(process.pid);
    expect(pidFiles.list().map((r) => r.pid)).toEqual([ready.pid]);
  });
});
