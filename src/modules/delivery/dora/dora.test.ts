import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import type { PublishInput } from '../../../core/events/events.js';
import { DIALECTS } from '../../../testing/databases.js';
import type { TestServer } from '../../../testing/server.js';
import { apply, json, serviceDoc, startDeliveryServer, TEAM, until } from '../pipelines/delivery.test-support.js';
import type { DoraReport } from './dora.service.js';
import { doraMetrics, failureRateBand, frequencyBand, leadTimeBand, quantile, restoreBand } from './metrics.js';

const H = 3_600_000;
const M = 60_000;
const DAY = 24 * H;
const T0 = Date.parse('2026-07-01T00:00:00Z');
const at = (day: number, hours: number, minutes = 0) => T0 + day * DAY + hours * H + minutes * M;

describe('DORA bands and statistics', () => {
  it('uses the DORA report thresholds', () => {
    expect([
      frequencyBand(3),
      frequencyBand(1),
      frequencyBand(1 / 7),
      frequencyBand(0.1),
      frequencyBand(1 / 30),
      frequencyBand(0.01),
    ]).toEqual(['elite', 'elite', 'high', 'medium', 'medium', 'low']);
    expect([leadTimeBand(H), leadTimeBand(DAY), leadTimeBand(7 * DAY), leadTimeBand(40 * DAY)]).toEqual(['elite', 'high', 'medium', 'low']);
    expect([failureRateBand(0.05), failureRateBand(0.1), failureRateBand(0.15), failureRateBand(0.3)]).toEqual([
      'elite',
      'high',
      'medium',
      'low',
    ]);
    expect([restoreBand(59 * M), restoreBand(H), restoreBand(DAY), restoreBand(8 * DAY)]).toEqual(['elite', 'high', 'medium', 'low']);
    expect([quantile([], 0.5), quantile([3, 1, 2], 0.5), quantile([1, 2, 3, 4], 0.5), quantile([1, 2, 2, 4, 30], 0.9)]).toEqual([
      null,
      2,
      2.5,
      19.6,
    ]);
  });

  it('reports no lead time, failure rate or restore band without data, and low frequency', () => {
    const m = doraMetrics([], [], 30);
    expect(m.deploymentFrequency).toEqual({ deployments: 0, perDay: 0, perWeek: 0, band: 'low' });
    expect(m.leadTime.band).toBeNull();
    expect(m.changeFailureRate).toMatchObject({ ratio: null, band: null });
    expect(m.timeToRestore).toEqual({ samples: 0, medianMs: null, band: null });
  });
});

describe.each(DIALECTS)('DORA from recorded rollouts on %s', (dialect) => {
  let server: TestServer;
  const clock = new FakeClock(T0);

  beforeAll(async () => {
    server = await startDeliveryServer({ dialect, clock });
    await apply(server, TEAM, serviceDoc('feed', { runtime: { kind: 'process', command: 'node', port: 19401 } }), serviceDoc('search'));
  });
  afterAll(() => server?.destroy());

  /** Publishes at a moment on the fake clock, as the rollouts part (or incidents) would. */
  async function publishAt(when: number, input: PublishInput): Promise<void> {
    clock.set(when);
    await server.core.db.transaction().execute((tx) => server.core.events.publish(tx, { change: true, ...input }));
  }
  const rollout = (verb: string, service: string, data: Record<string, unknown>, when: number) =>
    publishAt(when, { type: `delivery.rollout.${verb}`, service, subject: data.rolloutId as string, data: { service, ...data } });
  const report = async (query: string) =>
    (await json<DoraReport & { error?: { message: string } }>(server.request(`/api/v1/dora${query}`))).body;

  it('computes the four metrics per service and overall from the event history', async () => {
    // feed 1.1.0: no commit time, so lead time runs from the release's creation (10:00) to 100% (12:00).
    clock.set(at(0, 10));
    expect((await server.request('/api/v1/services/feed/releases', { method: 'POST', json: { version: '1.1.0' } })).status).toBe(201);
    await rollout('started', 'feed', { rolloutId: 'rol_1', version: '1.1.0', startedAt: at(0, 11) }, at(0, 11));
    await rollout('succeeded', 'feed', { rolloutId: 'rol_1', version: '1.1.0', startedAt: at(0, 11), finishedAt: at(0, 12) }, at(0, 12));
    // feed 1.2.0: no commit time; the rollout says its release was created at 06:00; live 10:00: 4 h.
    await rollout(
      'succeeded',
      'feed',
      { rolloutId: 'rol_2', version: '1.2.0', releaseCreatedAt: at(1, 6), startedAt: at(1, 9), finishedAt: at(1, 10) },
      at(1, 10),
    );
    // feed 1.3.0: aborted 30 minutes into its canary.
    await rollout('started', 'feed', { rolloutId: 'rol_3', version: '1.3.0', startedAt: at(2, 10), commitTime: at(2, 9) }, at(2, 10));
    await rollout(
      'aborted',
      'feed',
      { rolloutId: 'rol_3', version: '1.3.0', reason: 'error ratio', finishedAt: at(2, 10, 30) },
      at(2, 10, 30),
    );
    // feed 1.3.1: live at 11:00 (2 h after its commit), undone 20 minutes later.
    await rollout(
      'succeeded',
      'feed',
      { rolloutId: 'rol_4', version: '1.3.1', commitTime: at(3, 9), startedAt: at(3, 10), finishedAt: at(3, 11) },
      at(3, 11),
    );
    await rollout('undone', 'feed', { rolloutId: 'rol_4', version: '1.2.0' }, at(3, 11, 20));
    // search: live after 1 h; an incident on it two hours later, resolved in 45 minutes.
    await rollout(
      'succeeded',
      'search',
      { rolloutId: 'rol_5', version: '2.0.0', commitTime: at(4, 9, 10), startedAt: at(4, 10), finishedAt: at(4, 10, 10) },
      at(4, 10, 10),
    );
    await publishAt(at(4, 12), {
      type: 'incidents.incident.declared',
      service: 'search',
      subject: 'INC-1',
      data: { incidentId: 'INC-1', service: 'search' },
    });
    await publishAt(at(4, 12, 45), {
      type: 'incidents.incident.resolved',
      service: 'search',
      subject: 'INC-1',
      data: { incidentId: 'INC-1' },
    });
    // search 2.1.0: 30 h from commit; then an undo rollout back to 2.0.0, which is not a deployment of its own.
    await rollout(
      'succeeded',
      'search',
      { rolloutId: 'rol_6', version: '2.1.0', commitTime: at(4, 6), startedAt: at(5, 11), finishedAt: at(5, 12) },
      at(5, 12),
    );
    await rollout(
      'succeeded',
      'search',
      { rolloutId: 'rol_7', version: '2.0.0', undo: true, undoOf: 'rol_6', startedAt: at(5, 12, 5), finishedAt: at(5, 12, 6) },
      at(5, 12, 6),
    );
    // A rollout still in progress counts nowhere yet.
    await rollout('started', 'search', { rolloutId: 'rol_8', version: '2.2.0', startedAt: at(9, 10) }, at(9, 10));

    clock.set(at(10, 0));
    await until(server, 'the read model', async () => (await report('?since=30d')).overall.changeFailureRate.finished === 6);
    const r = await report('?since=30d');
    expect(r).toMatchObject({ since: at(10, 0) - 30 * DAY, until: at(10, 0), days: 30 });
    const feed = r.services.find((s) => s.service === 'feed')!;
    expect(feed.deploymentFrequency).toEqual({ deployments: 3, perDay: 0.1, perWeek: 0.7000000000000001, band: 'medium' });
    expect(feed.leadTime).toEqual({ samples: 3, medianMs: 2 * H, p90Ms: 3.6 * H, band: 'elite' });
    expect(feed.changeFailureRate).toEqual({
      finished: 4,
      failures: 2,
      ratio: 0.5,
      byCause: { aborted: 1, rolledBack: 1, incident: 0 },
      band: 'low',
    });
    expect(feed.timeToRestore).toEqual({ samples: 2, medianMs: 25 * M, band: 'elite' });

    const search = r.services.find((s) => s.service === 'search')!;
    expect(search.deploymentFrequency).toMatchObject({ deployments: 2, band: 'medium' });
    expect(search.leadTime).toMatchObject({ samples: 2, medianMs: 15.5 * H, band: 'elite' });
    expect(search.changeFailureRate).toEqual({
      finished: 2,
      failures: 2,
      ratio: 1,
      byCause: { aborted: 0, rolledBack: 1, incident: 1 },
      band: 'low',
    });
    expect(search.timeToRestore).toEqual({ samples: 2, medianMs: 25.5 * M, band: 'elite' });

    expect(r.overall.deploymentFrequency).toMatchObject({ deployments: 5, band: 'high' });
    expect(r.overall.leadTime).toMatchObject({ samples: 5, medianMs: 2 * H, band: 'elite' });
    expect(r.overall.changeFailureRate).toMatchObject({ finished: 6, failures: 4, byCause: { aborted: 1, rolledBack: 2, incident: 1 } });
    expect(r.overall.timeToRestore).toMatchObject({ samples: 4, medianMs: 25 * M, band: 'elite' });
  });

  it('windows by since and filters by service', async () => {
    const recent = await report('?since=2026-07-04T00:00:00Z');
    expect(recent.services.map((s) => [s.service, s.deploymentFrequency.deployments])).toEqual([
      ['feed', 1],
      ['search', 2],
    ]);
    const feed = await report('?service=feed&since=2026-07-01T00:00:00Z');
    expect(feed.services.map((s) => s.service)).toEqual(['feed']);
    expect(feed.overall.deploymentFrequency.deployments).toBe(3);
    expect(feed.days).toBe(10);
    const idle = await report('?service=search&since=1h');
    expect(idle.services).toEqual([
      expect.objectContaining({ service: 'search', deploymentFrequency: expect.objectContaining({ deployments: 0 }) }),
    ]);
  });

  it('takes every event in once: replaying the stream changes nothing', async () => {
    clock.set(at(10, 0));
    const before = await report('?since=30d');
    await server.core.db.updateTable('event_cursors').set({ seq: 0 }).where('subscriber', '=', 'delivery.dora').execute();
    await server.core.events.dispatch();
    expect(await report('?since=30d')).toEqual(before);
  });

  it('refuses a bad window or an unknown service', async () => {
    const bad = await json<{ error: { message: string; details: { issues: { pointer: string }[] } } }>(
      server.request('/api/v1/dora?since=forever'),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0]!.pointer).toBe('/since');
    expect((await server.request('/api/v1/dora?since=400d')).status).toBe(400);
    const unknown = await json<{ error: { message: string } }>(server.request('/api/v1/dora?service=nope'));
    expect(unknown.status).toBe(404);
  });
});
