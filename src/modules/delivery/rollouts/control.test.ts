import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { type ErrorBody, Harness, json, serviceDoc } from './rollouts.test-support.js';
import type { RolloutView } from './views.js';

const STRATEGY = {
  canary: {
    steps: [{ setWeight: 10 }, { pause: { duration: '5m' } }, { setWeight: 40 }, { pause: {} }, { setWeight: 70 }],
    analysis: 'none',
  },
};

describe.each(DIALECTS)('manual control of rollouts on %s', (dialect) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.destroy();
    h = undefined;
  });

  const start = async () => {
    h = await Harness.start(dialect, new FakeClock('2026-03-02T10:00:00Z'));
    await h.setup('feed', 19201, { strategy: STRATEGY });
    return h;
  };

  it('pauses and resumes, skips a pause with promote, refuses what makes no sense with 409, and promotes fully', async () => {
    const h = await start();
    const first = await h.deploy('1.1.0');
    expect(first.status).toBe(201);
    expect((await h.rollout()).step).toBe(1);

    const second = await h.deploy('1.2.0');
    expect(second.status).toBe(409);
    expect(second.body.error.message).toBe(
      `Service 'feed' already has an active rollout: ${first.body.id} (1.1.0, Progressing at step 2/5, started by admin); promote, abort or wait for it first`,
    );

    expect((await h.act('pause', { reason: 'lunch' })).body).toMatchObject({ phase: 'Paused', pauseReason: 'manual' });
    expect((await h.act('pause')).status).toBe(409);
    await h.advance(10 * 60_000);
    expect((await h.rollout()).step).toBe(1); // paused: the timed pause does not end it
    expect((await h.act('resume', { reason: 'back' })).body.phase).toBe('Progressing');
    // The timed pause was over by then: on to 40% and the pause that waits for promote.
    let r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Paused', pauseReason: 'step', step: 3, weights: { '1.0.0': 60, '1.1.0': 40 } });
    expect((await h.act('resume')).body).toMatchObject({ phase: 'Progressing' });
    r = await h.rollout();
    expect(r).toMatchObject({ phase: 'Succeeded', weights: { '1.1.0': 100 } });

    // A finished rollout: 409 naming its state.
    const late = await h.act('abort');
    expect(late.status).toBe(409);
    expect(late.body.error.message).toBe(`cannot abort rollout ${r.id} of 'feed' (1.1.0): it is Succeeded`);
    expect((await h.act('promote')).status).toBe(409);

    // promote --full from the first step.
    await h.deploy('1.2.0');
    expect((await h.rollout()).step).toBe(1);
    const full = await h.act('promote', { full: true, reason: 'hotfix' });
    expect(full.status).toBe(200);
    r = await h.rollout();
    expect(r).toMatchObject({ version: '1.2.0', phase: 'Succeeded', weights: { '1.2.0': 100 } });
    expect(r.log.find((l) => l.type === 'promoted')?.message).toBe(
      'Promoted fully by token:admin: hotfix: the remaining steps are skipped and 1.2.0 goes to 100%.'.replace('token:admin', 'admin'),
    );
    const audit = await h.server.core.audit.list({ action: 'delivery.rollout.promote' });
    expect(audit.map((a) => (a.details as { full: boolean }).full)).toEqual(expect.arrayContaining([true]));
  });

  it('aborts on request, retries from the failed step with its weight restored, and undoes a finished rollout through the fast path', async () => {
    const h = await start();
    await h.deploy('1.1.0');
    const aborted = await h.act('abort', { reason: 'wrong build' });
    expect(aborted.body).toMatchObject({ phase: 'Aborted', reason: 'aborted by admin: wrong build', weights: { '1.0.0': 100 } });
    expect((await h.split()).instances['1.1.0']).toBe(0);
    expect((await h.act('abort')).status).toBe(409);

    const retried = await h.act('retry', { reason: 'build fixed' });
    expect(retried.status).toBe(200);
    let r = await h.rollout();
    expect(r).toMatchObject({ id: aborted.body.id, phase: 'Progressing', step: 1, weights: { '1.0.0': 90, '1.1.0': 10 }, reason: null });
    expect(r.log.map((l) => l.type)).toEqual(expect.arrayContaining(['retried', 'weights']));
    const again = await h.act('retry');
    expect(again.status, JSON.stringify({ phase: again.body.phase, log: again.body.log?.map((l) => l.message) })).toBe(409);

    await h.act('promote', { full: true });
    expect((await h.split()).instances).toEqual({ '1.0.0': 0, '1.1.0': 4 });
    // undo: 1.0.0 has no instances left, so it is scaled up first, then takes all the traffic at once.
    const undone = await h.act('undo', { reason: 'p99 regression seen by users' });
    expect(undone.status).toBe(200);
    r = await h.rollout();
    expect(r).toMatchObject({ version: '1.0.0', stable: '1.1.0', rollbackOf: aborted.body.id, source: 'undo', phase: 'Succeeded' });
    expect(await h.split()).toEqual({ weights: { '1.0.0': 100 }, instances: { '1.0.0': 4, '1.1.0': 0 } });
    const succeeded = (await h.events('delivery.rollout.succeeded')).at(-1)!;
    expect(succeeded.data).toMatchObject({ undo: true, undoOf: aborted.body.id, rollbackOf: aborted.body.id });
    const audit = await h.server.core.audit.list({ action: 'delivery.rollout.undo' });
    expect(audit[0]?.details).toMatchObject({ reason: 'p99 regression seen by users' });

    // undo while a rollout is active aborts it; after an aborted one there is nothing to undo.
    await h.deploy('1.1.0');
    expect((await h.act('undo')).body).toMatchObject({ phase: 'Aborted', reason: 'undone by admin' });
    const nothing = await h.act('undo');
    expect(nothing.status).toBe(409);
    expect(nothing.body.error.message).toMatch(/was aborted: 1\.0\.0 has the traffic already$/);
  });

  it('refuses a frozen deploy with the freeze and its reason unless a deployer overrides it, audited; a freeze pauses and its lift resumes', async () => {
    const h = await start();
    const frozen = await json(
      h.server.request('/api/v1/freezes', { method: 'POST', json: { key: 'incident:INC-7', service: 'feed', reason: 'SEV1 in progress' } }),
    );
    expect(frozen.status).toBeLessThan(300);
    const refused = await h.deploy('1.1.0');
    expect(refused.status).toBe(423);
    expect(refused.body.error).toMatchObject({ code: 'frozen' });
    expect(refused.body.error.message).toContain('incident:INC-7 (SEV1 in progress)');
    expect(await h.versions()).toHaveLength(1);

    const overridden = await h.deploy('1.1.0', { overrideFreeze: { reason: 'the fix for INC-7' } });
    expect(overridden.status).toBe(201);
    expect(overridden.body.overrideFreeze).toEqual({
      reason: 'the fix for INC-7',
      freezes: [{ name: 'incident:INC-7', reason: 'SEV1 in progress' }],
    });
    const audit = await h.server.core.audit.list({ action: 'delivery.freeze.override' });
    expect(audit).toEqual([
      expect.objectContaining({ actor: 'token:admin', details: expect.objectContaining({ reason: 'the fix for INC-7' }) }),
    ]);
    await h.act('abort');

    // A freeze that starts during a rollout pauses it; lifting it resumes.
    await json(h.server.request('/api/v1/freezes/incident:INC-7', { method: 'DELETE' }));
    await h.settle();
    await h.deploy('1.2.0');
    expect((await h.rollout()).phase).toBe('Progressing');
    await json(h.server.request('/api/v1/freezes', { method: 'POST', json: { key: 'incident:INC-8', service: 'feed', reason: 'SEV2' } }));
    await h.settle();
    expect(await h.rollout()).toMatchObject({ phase: 'Paused', pauseReason: 'freeze' });
    expect((await h.act('resume')).status).toBe(423);
    await json(h.server.request('/api/v1/freezes/incident:INC-8', { method: 'DELETE' }));
    await h.settle();
    expect((await h.rollout()).phase).toBe('Progressing');
  });

  it('the kill switch aborts every active rollout; roles, unknown services and bad bodies are refused', async () => {
    const h = await start();
    await h.apply(serviceDoc('search', 19202, { preset: 'pinterest-default' }, 2));
    await h.settle('search');
    await h.deploy('1.1.0');
    await h.deploy('2.0.0', {}, 'search');
    const search = await h.rollout('search');
    expect(search).toMatchObject({ source: 'preset pinterest-default', totalSteps: 4, weights: { '1.0.0': 95, '2.0.0': 5 } });

    const viewer = await json<{ token: string }>(
      h.server.request('/api/v1/tokens', { method: 'POST', json: { name: 'v', role: 'viewer' } }),
    );
    expect((await h.deploy('1.2.0', {}, 'feed', viewer.body.token)).status).toBe(403);
    expect((await json(h.server.request('/api/v1/services/feed/rollout', { token: viewer.body.token }))).status).toBe(200);
    expect(
      (await json(h.server.request('/api/v1/rollouts/abort-all', { method: 'POST', json: { reason: 'x' }, token: viewer.body.token })))
        .status,
    ).toBe(403);

    const all = await json<{ items: RolloutView[] }>(
      h.server.request('/api/v1/rollouts/abort-all', { method: 'POST', json: { reason: 'bad config push everywhere' } }),
    );
    expect(all.status).toBe(200);
    expect(all.body.items.map((r) => [r.service, r.phase]).sort()).toEqual([
      ['feed', 'Aborted'],
      ['search', 'Aborted'],
    ]);
    await h.settle('search');
    expect((await h.split('search')).weights).toEqual({ '1.0.0': 100 });
    expect((await h.rollout()).reason).toBe('kill switch by admin: bad config push everywhere');
    const list = await json<{ items: RolloutView[] }>(h.server.request('/api/v1/rollouts?phase=Aborted'));
    expect(list.body.items).toHaveLength(2);
    expect((await json<{ items: RolloutView[] }>(h.server.request('/api/v1/rollouts?service=search'))).body.items).toHaveLength(1);

    const unknown = await h.deploy('1.0.0', {}, 'nope');
    expect(unknown).toMatchObject({ status: 404, body: { error: { message: "Service 'nope' does not exist" } } });
    const same = await h.deploy('1.0.0');
    expect(same.status).toBe(409);
    expect(same.body.error.message).toBe("Service 'feed' already runs 1.0.0 with all of its traffic; nothing to roll out");
    const bad = await json<ErrorBody>(h.server.request('/api/v1/services/feed/deploy', { method: 'POST', json: { version: 'no spaces' } }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.details?.issues?.[0]?.pointer).toBe('/version');
    const none = await json<ErrorBody>(
      h.server.request('/api/v1/services/search/rollout/promote', { method: 'POST', json: { fulll: true } }),
    );
    expect(none.status).toBe(400);
    const noRollouts = await json<ErrorBody>(h.server.request('/api/v1/services/nope/rollout'));
    expect(noRollouts.status).toBe(404);
  });
});
