import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import type { PageView } from './pages.routes.js';

const T0 = Date.parse('2026-05-04T10:00:00Z');

const user = (name: string, extra = '') => `apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: ${name} }
spec:
  email: ${name}@example.com
  timeZone: Europe/Dublin
  contacts: [ { name: hook, type: webhook, url: "http://127.0.0.1:9/${name}" } ]
${extra}---
`;

const SETUP = `${user('alice', '  notificationRules: [ { contact: hook, after: 0s }, { contact: hook, after: 2m } ]\n')}${user('bob')}${user('carol')}${user('dave')}apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: web }
spec: { members: [bob, dave] }
---
apiVersion: opsdeck.dev/v1
kind: EscalationPolicy
metadata: { name: feed }
spec:
  steps:
    - notify: [ { user: alice } ]
      after: 5m
    - notify: [ { user: carol }, { team: web, mode: round-robin } ]
      after: 15m
  repeat: 1
  ackTimeout: 30m
---
apiVersion: opsdeck.dev/v1
kind: EscalationPolicy
metadata: { name: feed-critical }
spec: { steps: [ { notify: [ { user: carol } ], after: 1m } ] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec: { owner: web, tier: 2, oncall: { escalationPolicy: feed, bySeverity: { SEV1: feed-critical } } }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: orphan }
spec: { owner: web }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: hook }
spec: { service: feed, type: generic }
---
apiVersion: opsdeck.dev/v1
kind: AlertRouting
metadata: { name: default }
spec: { route: { receiver: service, groupWait: 0s, groupInterval: 1m, repeatInterval: 1h } }
`;

interface PageDetail extends PageView {
  timeline: { type: string; step?: number; round?: number; users?: string[] }[];
  paged: { user: string; step: number }[];
}

describe.each(DIALECTS)('paging on %s', (dialect) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.destroy();
    server = undefined;
  });

  async function start() {
    const clock = new FakeClock(T0);
    server = await startTestServer({ dialect, clock });
    const applied = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: SETUP,
    });
    expect(applied.status, await applied.text()).toBe(200);
    return clock;
  }
  const page = async (id: string) => (await (await server!.request(`/api/v1/pages/${id}`)).json()) as PageDetail;
  /** Moves the fake clock and runs due jobs until `until` holds (the background worker may claim some first). */
  async function advance(clock: FakeClock, ms: number, until: () => Promise<boolean> = async () => true) {
    clock.advance(ms);
    for (let i = 0; i < 100; i++) {
      await server!.core.jobs.runDue();
      await server!.core.events.dispatch();
      if (await until()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('condition not reached');
  }

  it('escalates step by step on its timers, stops on ack, re-triggers after the ack timeout, and resolves', async () => {
    const clock = await start();
    const res = await server!.request('/api/v1/pages', { method: 'POST', json: { service: 'feed', title: 'Feed errors' } });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    const created = JSON.parse(text) as PageView;
    expect(created).toMatchObject({ status: 'triggered', step: 1, policy: 'feed', urgency: 'high', source: 'manual' });
    expect((await page(created.id)).paged.map((p) => p.user)).toEqual(['alice']);
    const sev1 = await server!.request('/api/v1/pages', {
      method: 'POST',
      json: { service: 'feed', title: 'Feed down', severity: 'SEV1' },
    });
    const sev1Page = (await sev1.json()) as PageView;
    expect(sev1Page.policy).toBe('feed-critical');
    expect((await server!.request(`/api/v1/pages/${sev1Page.id}/resolve`, { method: 'POST' })).status).toBe(200);

    await advance(clock, 4 * 60_000 + 59_000);
    expect((await page(created.id)).step).toBe(1);
    await advance(clock, 1000, async () => (await page(created.id)).step === 2);
    let detail = await page(created.id);
    // Step 2: carol and the first of web's round robin.
    expect(detail.paged.map((p) => p.user).sort()).toEqual(['alice', 'bob', 'carol']);
    expect(detail.timeline.map((t) => t.type)).toEqual(['triggered', 'notified', 'escalated', 'notified']);

    // Nobody acks: the chain repeats once (round 2), and round robin moves on to dave.
    await advance(clock, 15 * 60_000, async () => (await page(created.id)).round === 2);
    detail = await page(created.id);
    expect(detail).toMatchObject({ step: 1, round: 2 });
    await advance(clock, 5 * 60_000, async () => (await page(created.id)).step === 2);
    expect((await page(created.id)).paged.map((p) => p.user)).toContain('dave');
    // The repeat is used up: no third round.
    await advance(clock, 60 * 60_000);
    expect(await page(created.id)).toMatchObject({ step: 2, round: 2, status: 'triggered' });

    const ack = await server!.request(`/api/v1/pages/${created.id}/ack`, { method: 'POST' });
    expect(ack.status).toBe(200);
    expect((await ack.json()) as PageView).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'admin' });
    // Auto-unack after 30 minutes: a new cycle from the first step.
    await advance(clock, 29 * 60_000);
    expect((await page(created.id)).status).toBe('acknowledged');
    await advance(clock, 60_000, async () => (await page(created.id)).status === 'triggered');
    detail = await page(created.id);
    expect(detail).toMatchObject({ step: 1, round: 1, cycle: 2 });
    expect(detail.timeline.at(-2)?.type).toBe('retriggered');

    const resolved = await server!.request(`/api/v1/pages/${created.id}/resolve`, { method: 'POST' });
    expect(((await resolved.json()) as PageView).status).toBe('resolved');
    await advance(clock, 2 * 60 * 60_000);
    detail = await page(created.id);
    expect(detail.timeline.at(-1)?.type).toBe('resolved');
    expect(detail.timeline.filter((t) => t.type === 'escalated')).toHaveLength(3);
    const audit = (await (await server!.request('/api/v1/audit?limit=50')).json()) as { items: { action: string }[] };
    expect(audit.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['oncall.page.create', 'oncall.page.acknowledge', 'oncall.page.resolve']),
    );
  });

  it('pages for an alert group through the service policy, once; acking the page acks the group and resolving the group resolves the page', async () => {
    const clock = await start();
    const url = ((await (await server!.request('/api/v1/integrations/hook/url')).json()) as { url: string }).url;
    const send = async (status: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status, title: 'HighErrors', key: 'k1' }),
      });
    expect((await send('firing')).status).toBe(200);
    const pages = async () => ((await (await server!.request('/api/v1/pages?status=all')).json()) as { items: PageView[] }).items;
    await advance(clock, 0, async () => (await pages()).length === 1);
    const [p] = await pages();
    expect(p).toMatchObject({ source: 'alert-group', service: 'feed', policy: 'feed', title: 'HighErrors', status: 'triggered' });
    // A repeat of the same alert does not page again.
    expect((await send('firing')).status).toBe(200);
    await advance(clock, 2 * 60_000);
    expect(await pages()).toHaveLength(1);

    expect((await server!.request(`/api/v1/pages/${p!.id}/ack`, { method: 'POST' })).status).toBe(200);
    const group = async () => (await (await server!.request(`/api/v1/alert-groups/${p!.groupId}`)).json()) as { status: string };
    expect((await group()).status).toBe('acknowledged');
    expect((await send('resolved')).status).toBe(200);
    await advance(clock, 0, async () => (await page(p!.id)).status === 'resolved');
    expect((await group()).status).toBe('resolved');
  });

  it('reports an alert group whose service has no policy as unrouted instead of dropping it silently', async () => {
    const clock = await start();
    const apply = await server!.request('/api/v1/resources/apply', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: 'apiVersion: opsdeck.dev/v1\nkind: Integration\nmetadata: { name: orphan-hook }\nspec: { service: orphan, type: generic }\n',
    });
    expect(apply.status).toBe(200);
    const url = ((await (await server!.request('/api/v1/integrations/orphan-hook/url')).json()) as { url: string }).url;
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'firing', title: 'Lost', key: 'x' }),
    });
    const unrouted = async () =>
      ((await (await server!.request('/api/v1/events?types=oncall.page.unrouted')).json()) as { items: { data: { reason: string } }[] })
        .items;
    await advance(clock, 0, async () => (await unrouted()).length === 1);
    expect((await unrouted())[0]!.data.reason).toMatch(/orphan.*no spec.oncall.escalationPolicy/);
  });

  it('refuses bad policies and pages with 400s naming the field, and writes nothing', async () => {
    await start();
    const apply = (body: string) =>
      server!.request('/api/v1/resources/apply', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body });
    const issues = async (res: Response) => {
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: { details: { issues: { pointer: string }[] } } }).error.details.issues.map((i) => i.pointer);
    };
    const policy = (spec: string) => `apiVersion: opsdeck.dev/v1\nkind: EscalationPolicy\nmetadata: { name: bad }\nspec: ${spec}\n`;
    expect(await issues(await apply(policy('{ steps: [] }')))).toContain('/spec/steps');
    expect(await issues(await apply(policy('{ steps: [ { notify: [ { user: ghost } ], after: 5m } ] }')))).toContain(
      '/spec/steps/0/notify/0/user',
    );
    expect(await issues(await apply(policy('{ steps: [ { notify: [ { user: alice } ], after: 5 } ] }')))).toContain('/spec/steps/0/after');
    expect(
      await issues(
        await apply(policy('{ steps: [ { notify: [ { user: alice } ], after: 0s }, { notify: [ { user: bob } ], after: 5m } ] }')),
      ),
    ).toContain('/spec/steps/0/after');
    expect(
      await issues(
        await apply(
          'apiVersion: opsdeck.dev/v1\nkind: User\nmetadata: { name: erin }\nspec: { email: e@example.com, timeZone: UTC, contacts: [ { name: hook, type: webhook, url: "http://x.example" } ], notificationRules: [ { contact: phone, after: 0s } ] }\n',
        ),
      ),
    ).toContain('/spec/notificationRules/0/contact');
    expect(await issues(await server!.request('/api/v1/pages', { method: 'POST', json: { title: 'x' } }))).toContain('/service');
    expect(await issues(await server!.request('/api/v1/pages', { method: 'POST', json: { title: 'x', user: 'ghost' } }))).toContain(
      '/user',
    );
    expect(
      await issues(
        await apply(
          'apiVersion: opsdeck.dev/v1\nkind: Service\nmetadata: { name: x }\nspec: { owner: web, oncall: { escalationPolicy: feed, bySeverity: { SEV1: ghost } } }\n',
        ),
      ),
    ).toEqual(['/spec/oncall/bySeverity/SEV1']);
    const noPolicy = await server!.request('/api/v1/pages', { method: 'POST', json: { title: 'x', service: 'orphan' } });
    expect(noPolicy.status).toBe(400);
    expect(await noPolicy.text()).toMatch(/no spec.oncall.escalationPolicy/);
    expect((await server!.request('/api/v1/pages/pag_nope/ack', { method: 'POST' })).status).toBe(400);
    const list = (await (await server!.request('/api/v1/pages?status=all')).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);
  });

  it('answers who a service page would reach, without moving the round robin', async () => {
    await start();
    const who = async () => (await (await server!.request('/api/v1/oncall?service=feed')).json()) as { steps: { users: string[] }[] };
    expect((await who()).steps.map((s) => s.users)).toEqual([['alice'], ['carol', 'bob']]);
    expect((await who()).steps[1]!.users).toEqual(['carol', 'bob']);
  });

  it('reports on-call health: MTTA, pages per person, off-hours pages in their own zone, escalation and noisy alerts', async () => {
    const clock = await start();
    const create = async (title: string) =>
      ((await (await server!.request('/api/v1/pages', { method: 'POST', json: { service: 'feed', title } })).json()) as PageView).id;
    // 11:00 in Dublin on a Monday: working hours. Acknowledged after 3 minutes.
    const first = await create('Feed errors');
    await advance(clock, 3 * 60_000);
    expect((await server!.request(`/api/v1/pages/${first}/ack`, { method: 'POST' })).status).toBe(200);
    await server!.request(`/api/v1/pages/${first}/resolve`, { method: 'POST' });
    // 00:30 in Dublin: off hours. Nobody acknowledges; it escalates, then resolves by itself.
    clock.set(Date.parse('2026-05-04T23:30:00Z'));
    const second = await create('Feed errors');
    await advance(clock, 6 * 60_000, async () => (await page(second)).step === 2);
    await server!.request(`/api/v1/pages/${second}/resolve`, { method: 'POST' });
    await create('Disk almost full'); // also off hours

    const res = await server!.request('/api/v1/oncall/report?since=7d');
    expect(res.status).toBe(200);
    const report = (await res.json()) as {
      pages: number;
      acknowledged: number;
      mtta: { p50Ms: number; p95Ms: number; targetP95Ms: number };
      escalationRate: number;
      unacknowledgedResolveRate: number;
      people: { user: string; pages: number; offHours: number; acknowledged: number }[];
      noisy: { title: string; pages: number; acknowledged: number; unacknowledgedResolves: number; escalated: number }[];
    };
    expect(report).toMatchObject({ pages: 3, acknowledged: 1, escalationRate: 0.333, unacknowledgedResolveRate: 0.333 });
    expect(report.mtta).toMatchObject({ p50Ms: 180_000, p95Ms: 180_000, targetP95Ms: 300_000 });
    expect(report.people.find((p) => p.user === 'alice')).toMatchObject({ pages: 3, offHours: 2, acknowledged: 0 });
    expect(report.noisy[0]).toMatchObject({ title: 'Feed errors', pages: 2, acknowledged: 1, unacknowledgedResolves: 1, escalated: 1 });
    expect((await server!.request('/api/v1/oncall/report?since=never')).status).toBe(400);
  });
});
