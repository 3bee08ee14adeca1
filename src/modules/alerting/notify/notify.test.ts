import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import type { IntegrationUrl } from '../integrations/integrations.routes.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');

const SETUP = `apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: web }
spec: { members: [] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec: { owner: web, tier: 2 }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: db }
spec: { owner: web, tier: 1 }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: hook }
spec: { service: feed, type: generic }
---
apiVersion: opsdeck.dev/v1
kind: AlertRouting
metadata: { name: default }
spec:
  route:
    receiver: web-oncall
    groupWait: 30s
    groupInterval: 1m
    repeatInterval: 10m
    routes:
      - { matchers: ["severity=critical"], receiver: sre-critical, groupWait: 10s }
  inhibitRules:
    - { sourceMatchers: ["alertname=DatabaseDown"], targetMatchers: ["alertname=HighLatency"], equal: [region] }
---
apiVersion: opsdeck.dev/v1
kind: MaintenanceWindow
metadata: { name: db-upgrade }
spec: { services: [db], start: "2026-05-01T09:00:00Z", end: "2026-05-01T12:00:00Z", comment: "major version upgrade" }
`;

interface Notify {
  data: { id: string; receiver: string; status: string; why: string; firing: number; changes: { subject: string }[] };
}

describe.each(DIALECTS)('alert notifications on %s', (dialect) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
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
    const hook = (await (await server.request('/api/v1/integrations/hook/url')).json()) as IntegrationUrl;
    const send = async (status: string, title: string, key: string, labels: Record<string, string> = {}) => {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status, title, key, labels }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { groups: string[] }).groups[0];
    };
    return { clock, send };
  }
  const notifications = async () =>
    ((await (await server!.request('/api/v1/events?types=alerting.group.notify&limit=1000')).json()) as { items: Notify[] }).items.map(
      (e) => e.data,
    );
  const suppressed = async () =>
    ((await (await server!.request('/api/v1/events?types=alerting.group.suppressed')).json()) as { items: Notify[] }).items.map(
      (e) => e.data,
    );
  /** Moves time and runs what is due (waiting for the background worker if it claimed a job first). */
  async function at(clock: FakeClock, ms: number, expectCount?: number) {
    clock.advance(ms);
    for (let i = 0; i < 50; i++) {
      await server!.core.jobs.runDue();
      if (expectCount === undefined || (await notifications()).length >= expectCount) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('notifies after group_wait on the matching route, again on change after group_interval, repeats, stops repeating once acknowledged, and says resolved', async () => {
    const { clock, send } = await start();
    const id = await send('firing', 'HighErrors', 'k1', { severity: 'critical' });
    await at(clock, 9_000);
    expect(await notifications()).toEqual([]);
    await at(clock, 1_000, 1);
    let all = await notifications();
    expect(all).toEqual([expect.objectContaining({ id, receiver: 'sre-critical', status: 'firing', why: 'opened', firing: 1 })]);
    // What changed travels with the notification.
    expect(all[0]!.changes.map((c) => c.subject)).toContain('Service/feed');

    await send('firing', 'HighErrors', 'k2', { severity: 'critical' });
    await at(clock, 30_000);
    expect(await notifications()).toHaveLength(1); // not before group_interval (1m) since the last one
    await at(clock, 30_000, 2);
    expect((await notifications())[1]).toMatchObject({ why: 'changed', firing: 2 });

    await at(clock, 10 * 60_000, 3);
    expect((await notifications())[2]).toMatchObject({ why: 'repeat' });
    expect((await server!.request(`/api/v1/alert-groups/${id}/ack`, { method: 'POST', json: {} })).status).toBe(200);
    await at(clock, 11 * 60_000);
    expect(await notifications()).toHaveLength(3);
    expect((await server!.request(`/api/v1/alert-groups/${id}/resolve`, { method: 'POST', json: {} })).status).toBe(200);
    await at(clock, 0, 4);
    all = await notifications();
    expect(all[3]).toMatchObject({ status: 'resolved', receiver: 'sre-critical' });
  });

  it('stays quiet for silenced, inhibited and in-maintenance alerts, and says nothing for a group resolved within group_wait', async () => {
    const { clock, send } = await start();
    const silence = await server!.request('/api/v1/silences', {
      method: 'POST',
      json: { matchers: ['alertname=Noisy'], durationMinutes: 120, comment: 'known flapping probe' },
    });
    expect(silence.status).toBe(201);
    const preview = await server!.request('/api/v1/silences/preview', { method: 'POST', json: { matchers: ['alertname=~"Noi.*"'] } });
    expect(((await preview.json()) as { alerts: number }).alerts).toBe(0);
    const noisy = await send('firing', 'Noisy', 'n1');
    expect(
      (await (
        await server!.request('/api/v1/silences/preview', { method: 'POST', json: { matchers: ['alertname=Noisy'] } })
      ).json()) as unknown,
    ).toMatchObject({
      alerts: 1,
      groups: [{ id: noisy }],
    });

    await send('firing', 'DatabaseDown', 'd1', { region: 'eu' });
    const inhibited = await send('firing', 'HighLatency', 'l1', { region: 'eu' });
    const db = await send('firing', 'ReplicationLag', 'r1', { service: 'db' });
    const quick = await send('firing', 'Blip', 'b1');
    await send('resolved', 'Blip', 'b1');
    await at(clock, 30_000, 1);
    // Suppressions are recorded by the same jobs; the background worker may still be running some.
    for (let i = 0; i < 100 && (await suppressed()).length < 3; i++) {
      await server!.core.jobs.runDue();
      await new Promise((r) => setTimeout(r, 20));
    }
    const notified = await notifications();
    // Only DatabaseDown notifies: HighLatency in the same region is inhibited by it, Noisy is
    // silenced, ReplicationLag is in db's maintenance window, Blip resolved before group_wait.
    expect(notified.map((n) => n.why)).toEqual(['opened']);
    const quiet = await suppressed();
    expect(Object.fromEntries(quiet.map((s) => [s.id, (s as unknown as { why: string }).why]))).toMatchObject({
      [noisy!]: expect.stringMatching(/^silence sil_/),
      [inhibited!]: 'inhibited',
      [db!]: 'maintenance window db-upgrade',
    });
    expect(notified.concat(quiet).some((n) => n.id === quick)).toBe(false);

    // A HighLatency in another region is not inhibited; expiring the silence lets Noisy through.
    await send('firing', 'HighLatency', 'l2', { region: 'us' });
    const expire = await server!.request(`/api/v1/silences/${((await silence.json()) as { id: string }).id}`, { method: 'DELETE' });
    expect(expire.status).toBe(200);
    await at(clock, 60_000, 3);
    const ids = (await notifications()).map((n) => n.id);
    expect(ids).toContain(noisy);
    expect(ids).toContain(inhibited); // its group now has an uninhibited alert (region us)
    expect(ids).not.toContain(db);
  });

  it('refuses a routing tree with bad matchers or another name, and silences that match everything', async () => {
    await start();
    const bad = await server!.request('/api/v1/resources/apply', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: 'apiVersion: opsdeck.dev/v1\nkind: AlertRouting\nmetadata: { name: other }\nspec: { route: { routes: [ { matchers: ["sev~x"] } ] } }\n',
    });
    expect(bad.status).toBe(400);
    const pointers = ((await bad.json()) as { error: { details: { issues: { pointer: string }[] } } }).error.details.issues.map(
      (i) => i.pointer,
    );
    expect(pointers).toEqual(expect.arrayContaining(['/metadata/name', '/spec/route/routes/0/matchers/0']));
    const all = await server!.request('/api/v1/silences', {
      method: 'POST',
      json: { matchers: ['env=~".*"'], durationMinutes: 10, comment: 'x' },
    });
    expect(all.status).toBe(400);
    const noEnd = await server!.request('/api/v1/silences', { method: 'POST', json: { matchers: ['env=prod'], comment: 'x' } });
    expect(((await noEnd.json()) as { error: { message: string } }).error.message).toMatch(/endsAt or durationMinutes/);
  });
});
