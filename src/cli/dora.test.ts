import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { doraMetrics } from '../modules/delivery/dora/metrics.js';
import { apply, runCli, serviceDoc, startDeliveryServer, TEAM } from '../modules/delivery/pipelines/delivery.test-support.js';
import type { TestServer } from '../testing/server.js';
import { doraRow, doraSinceArg, formatSpan } from './dora.js';

const cli = runCli;
const NOWHERE = { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' };
const H = 3_600_000;

describe('dora command', () => {
  it('formats spans with two units and rows with their bands', () => {
    expect([
      formatSpan(null),
      formatSpan(500),
      formatSpan(45_000),
      formatSpan(2 * H + 5 * 60_000),
      formatSpan(3 * 24 * H + 4 * H),
      formatSpan(2 * H),
    ]).toEqual(['-', '500ms', '45s', '2h 5m', '3d 4h', '2h']);
    const m = doraMetrics(
      [
        {
          rolloutId: 'a',
          service: 'feed',
          version: '1',
          startedAt: 0,
          finishedAt: H,
          outcome: 'succeeded',
          isUndo: false,
          commitTime: 0,
          releaseCreatedAt: null,
          undoneAt: null,
        },
        {
          rolloutId: 'b',
          service: 'feed',
          version: '2',
          startedAt: 0,
          finishedAt: 2 * H,
          outcome: 'aborted',
          isUndo: false,
          commitTime: null,
          releaseCreatedAt: null,
          undoneAt: null,
        },
      ],
      [],
      30,
    );
    expect(doraRow('feed', m)).toEqual(['feed', '1', '0.03/day (medium)', '1h (elite)', '50.0% (1/2) (low)', '2h (high)']);
  });

  it('checks --since before asking', async () => {
    expect(doraSinceArg('30d')).toBe('30d');
    expect(doraSinceArg('2026-01-01T00:00:00Z')).toBe('2026-01-01T00:00:00Z');
    expect(() => doraSinceArg('a month')).toThrow();
    expect((await cli(NOWHERE, 'dora', '--since', 'forever')).code).toBe(2);
  });

  describe('against a server', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startDeliveryServer({ dialect: 'sqlite' });
      await apply(server, TEAM, serviceDoc('feed'));
    });
    afterAll(() => server?.destroy());

    it('prints the metrics per service and overall', async () => {
      expect(await cli(server.env, 'dora')).toMatchObject({ code: 0, stdout: '', stderr: 'no rollouts in this window\n' });
      const now = Date.now();
      await server.core.db.transaction().execute(async (tx) => {
        const base = { rolloutId: 'rol_1', service: 'feed', version: '1.1.0', commitTime: now - 3 * H, startedAt: now - 2 * H };
        await server.core.events.publish(tx, { type: 'delivery.rollout.started', service: 'feed', change: true, data: base });
        await server.core.events.publish(tx, {
          type: 'delivery.rollout.succeeded',
          service: 'feed',
          change: true,
          data: { ...base, finishedAt: now - H },
        });
      });
      await vi.waitFor(
        async () => {
          await server.core.events.dispatch();
          const out = await cli(server.env, 'dora', '--since', '7d');
          expect(out.stdout.split('\n')[0]).toMatch(
            /^SERVICE\s+DEPLOYS\s+FREQUENCY\s+LEAD TIME \(median\)\s+CHANGE FAILURE RATE\s+TIME TO RESTORE \(median\)$/,
          );
          expect(out.stdout).toMatch(/feed\s+1\s+0\.14\/day \(high\)\s+2h \(elite\)\s+0\.0% \(0\/1\) \(elite\)\s+-/);
          expect(out.stdout).toMatch(/\(all\)\s+1\s+/);
        },
        { timeout: 10_000, interval: 50 },
      );
      const json = JSON.parse((await cli(server.env, 'dora', '--service', 'feed', '-o', 'json')).stdout);
      expect(json.services).toHaveLength(1);
      expect(json.overall.leadTime.medianMs).toBe(2 * H);
      expect((await cli(server.env, 'dora', '--service', 'nope')).stderr).toBe("Service 'nope' does not exist\n");
    });
  });
});
