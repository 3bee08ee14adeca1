import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RolloutView } from '../modules/delivery/index.js';
import { isoTimeArg } from './deploy.js';
import { run } from './program.js';
import { phaseLine, renderRollout } from './rollout.js';

// Rendering and argument handling of deploy/rollout; the commands against a server are in rollout-cli.test.ts.

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

const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);

function view(partial: Partial<RolloutView> = {}): RolloutView {
  return {
    id: 'rol_1',
    service: 'feed',
    version: '1.1.0',
    stable: '1.0.0',
    strategy: 'canary',
    phase: 'Progressing',
    step: 2,
    reason: null,
    startedAt: T0,
    finishedAt: null,
    deployer: 'ana',
    rollbackOf: null,
    source: 'preset tiktok-default',
    totalSteps: 6,
    steps: [
      { number: 1, type: 'setWeight', description: 'setWeight 1%', status: 'done' },
      { number: 2, type: 'pause', description: 'pause 15m', status: 'done' },
      { number: 3, type: 'setWeight', description: 'setWeight 10%', status: 'current' },
    ],
    currentStep: 'setWeight 10%',
    pauseReason: null,
    pauseUntil: null,
    progressDeadlineAt: T0 + 20 * 60_000,
    weights: { '1.0.0': 99, '1.1.0': 1 },
    versions: [
      { version: '1.0.0', role: 'stable', weight: 99, desiredInstances: 10, readyInstances: 10, health: 'healthy' },
      { version: '1.1.0', role: 'canary', weight: 1, desiredInstances: 1, readyInstances: 0, health: 'progressing' },
    ],
    headerRoute: null,
    mirrorPercent: null,
    commitTime: null,
    releaseCreatedAt: T0,
    pipelineRunId: null,
    overrideFreeze: null,
    decision: null,
    timeToWeightZeroMs: null,
    lastDecision: null,
    analysis: [
      {
        id: 'anr_1',
        rolloutId: 'rol_1',
        service: 'feed',
        canary: '1.1.0',
        stable: '1.0.0',
        mode: 'background',
        step: null,
        phase: 'Running',
        reason: null,
        startedAt: T0,
        finishedAt: null,
        decisions: [
          {
            at: T0 + 5000,
            metric: 'error-ratio',
            verdict: 'Pass',
            values: {},
            reason: 'canary error ratio 0.1% vs stable 0.1% over 812 vs 7,304 requests: Pass',
          },
        ],
      },
    ],
    log: [
      {
        seq: 1,
        at: T0,
        actor: 'ana',
        type: 'started',
        step: 0,
        message: 'Started by ana: 1.0.0 → 1.1.0 (preset tiktok-default, canary; 6 steps).',
        data: {},
      },
      {
        seq: 2,
        at: T0 + 60_000,
        actor: 'delivery',
        type: 'waiting',
        step: 2,
        message: 'Waiting: 1.1.0 has 0 of 1 instance ready.',
        data: {},
      },
    ],
    updatedAt: T0,
    ...partial,
  } as RolloutView;
}

describe('rollout status rendering', () => {
  it('says the phase, the step and what it waits for in one line', () => {
    const now = T0 + 10 * 60_000;
    expect(phaseLine(view(), now)).toBe('Progressing: step 3/6 setWeight 10% (waiting for instances; aborts in 10m)');
    expect(phaseLine(view({ phase: 'Paused', pauseReason: 'inconclusive', progressDeadlineAt: null }), now)).toBe(
      'Paused (inconclusive): step 3/6 setWeight 10%',
    );
    expect(phaseLine(view({ progressDeadlineAt: null, currentStep: 'pause 30m', pauseUntil: now + 120_000 }), now)).toBe(
      'Progressing: step 3/6 pause 30m (until 2026-03-02 10:12:00Z, in 2m)',
    );
    expect(phaseLine(view({ phase: 'Aborted', finishedAt: now - 5000, reason: '1.1.0 is crash-loop' }), now)).toBe(
      'Aborted 5s ago: 1.1.0 is crash-loop',
    );
  });

  it('renders weights, versions, steps, analysis decisions and the decision log', () => {
    expect(renderRollout(view(), T0 + 10 * 60_000)).toBe(
      [
        'Rollout   rol_1   feed   1.0.0 → 1.1.0',
        'Strategy  canary (preset tiktok-default), started by ana 10m ago',
        'Phase     Progressing: step 3/6 setWeight 10% (waiting for instances; aborts in 10m)',
        'Weights   1.0.0 99%   1.1.0 1%',
        'Versions  1.0.0        stable  99%   10/10 ready   healthy',
        '          1.1.0        canary  1%   0/1 ready   progressing',
        'Steps     ✓  1  setWeight 1%',
        '          ✓  2  pause 15m',
        '          ▶  3  setWeight 10%',
        'Analysis  anr_1 background Running',
        '            2026-03-02 10:00:05Z  error-ratio Pass: canary error ratio 0.1% vs stable 0.1% over 812 vs 7,304 requests: Pass',
        'Decisions 2026-03-02 10:00:00Z  Started by ana: 1.0.0 → 1.1.0 (preset tiktok-default, canary; 6 steps).',
        '          2026-03-02 10:01:00Z  Waiting: 1.1.0 has 0 of 1 instance ready.',
        '',
      ].join('\n'),
    );
    const rolledBack = renderRollout(view({ phase: 'Aborted', reason: 'x', finishedAt: T0, timeToWeightZeroMs: 412 }), T0);
    expect(rolledBack).toContain('Rollback  1.1.0 had no traffic 412 ms after the failing decision\n');
  });
});

describe('deploy and rollout command lines', () => {
  it('takes ISO times with an offset for --commit-time', () => {
    expect(isoTimeArg('2026-03-02T09:00:00Z')).toBe('2026-03-02T09:00:00Z');
    expect(isoTimeArg('2026-03-02T09:00:00.123+01:00')).toBe('2026-03-02T09:00:00.123+01:00');
    expect(() => isoTimeArg('2026-03-02')).toThrow(/ISO-8601/);
    expect(() => isoTimeArg('2026-13-40T99:00:00Z')).toThrow(/ISO-8601/);
  });

  it('refuses bad command lines with exit 2 before calling the server', async () => {
    expect((await cli('deploy', 'feed')).code).toBe(2);
    expect(await cli('deploy', 'feed', '--version', '1.2.0', '--override-freeze')).toMatchObject({
      code: 2,
      stderr: '--override-freeze needs --reason: the override is recorded in the audit log\n',
    });
    expect((await cli('rollout', 'status')).code).toBe(2);
    expect((await cli('rollout', 'list', '--phase', 'Done')).code).toBe(2);
    expect(await cli('rollout', 'abort')).toMatchObject({ code: 2, stderr: 'name the service whose rollout to abort, or use --all\n' });
    expect((await cli('rollout', 'abort', 'feed', '--all')).code).toBe(2);
    expect((await cli('rollout', 'pause', 'feed', '--override-freeze')).code).toBe(2);
    expect((await cli('rollout', 'resume', 'feed', '--override-freeze')).code).toBe(2);
  });
});
