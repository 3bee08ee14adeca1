import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import type { GroupView } from '../groups/groups.routes.js';
import type { IntegrationUrl } from '../integrations/integrations.routes.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');

const SETUP = `apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: web }
spec: { members: [] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: ranker }
spec: { owner: web, tier: 2 }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec: { owner: web, tier: 1, dependsOn: [ranker] }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: am }
spec: { service: feed, type: alertmanager }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: pd }
spec: { service: feed, type: pagerduty }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: prom }
spec: { service: feed, type: prometheus }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: hook }
spec: { service: feed, type: generic, groupBy: [alertname, region] }
`;

const amAlert = (name: string, status: 'firing' | 'resolved', fingerprint: string) => ({
  status,
  labels: { alertname: 'HighErrors', instance: name },
  annotations: { summary: `errors on ${name}` },
  startsAt: '2026-05-01T09:59:00Z',
  endsAt: status === 'resolved' ? '2026-05-01T10:05:00Z' : '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus/graph',
  fingerprint,
});
const amWebhook = (alerts: ReturnType<typeof amAlert>[]) => ({
  version: '4',
  groupKey: '{}:{alertname="HighErrors"}',
  truncatedAlerts: 0,
  status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
  receiver: 'opsdeck',
  groupLabels: { alertname: 'HighErrors' },
  commonLabels: { alertname: 'HighErrors' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager',
  alerts,
});

describe.each(DIALECTS)('alert intake on %s', (dialect) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(clock?: FakeClock) {
    server = await startTestServer({ dialect, ...(clock ? { clock } : {}) });
    const applied = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: SETUP,
    });
    expect(applied.status, await applied.text()).toBe(200);
    const url = async (name: string) => (await (await server!.request(`/api/v1/integrations/${name}/url`)).json()) as IntegrationUrl;
    return { am: await url('am'), pd: await url('pd'), prom: await url('prom'), hook: await url('hook') };
  }
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server!.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const groups = async (status = '') =>
    ((await (await server!.request(`/api/v1/alert-groups${status ? `?status=${status}` : ''}`)).json()) as { items: GroupView[] }).items;
  const group = async (id: string) => (await (await server!.request(`/api/v1/alert-groups/${id}`)).json()) as GroupView;
  const eventCount = async (type: string) =>
    ((await (await server!.request(`/api/v1/events?types=${type}`)).json()) as { items: unknown[] }).items.length;

  it('groups an Alertmanager webhook by groupKey, dedups repeats, resolves alert by alert, then the group', async () => {
    const { am } = await start();
    const path = new URL(am.url).pathname;
    expect(am.key).toMatch(/^[0-9a-f]{32}$/);
    let res = await post(path, amWebhook([amAlert('a', 'firing', 'fa'), amAlert('b', 'firing', 'fb')]));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ opened: true });
    res = await post(path, amWebhook([amAlert('a', 'firing', 'fa'), amAlert('b', 'firing', 'fb')]));
    expect(await res.json()).toMatchObject({ opened: false, repeats: 2 });
    let [g] = await groups('active');
    expect(g).toMatchObject({ source: 'alertmanager', integration: 'am', service: 'feed', status: 'open', events: 4 });

    // Partial resolve: only b.
    await post(path, amWebhook([amAlert('a', 'firing', 'fa'), amAlert('b', 'resolved', 'fb')]));
    let detail = await group(g!.id);
    expect(detail.status).toBe('open');
    expect(Object.fromEntries(detail.alerts!.map((a) => [a.fingerprint, a.status]))).toEqual({ fa: 'firing', fb: 'resolved' });
    expect(detail.alerts!.find((a) => a.fingerprint === 'fa')?.received).toBe(3);

    await post(path, amWebhook([amAlert('a', 'resolved', 'fa'), amAlert('b', 'resolved', 'fb')]));
    detail = await group(g!.id);
    expect(detail.status).toBe('resolved');
    expect(await eventCount('alerting.group.opened')).toBe(1);
    expect(await eventCount('alerting.group.resolved')).toBe(1);
    // What changed before it opened: feed's and its dependency ranker's applies, newest first.
    expect(detail.changes?.map((c) => c.subject)).toEqual(expect.arrayContaining(['Service/feed', 'Service/ranker']));

    // The same groupKey firing again opens a new group; the resolved one stays as history.
    await post(path, amWebhook([amAlert('a', 'firing', 'fa')]));
    [g] = await groups('active');
    expect(g?.id).not.toBe(detail.id);
    expect(await groups()).toHaveLength(2);
  });

  it('refuses unknown keys (404), disabled integrations (403), the wrong endpoint, and malformed payloads naming the field, writing nothing', async () => {
    const { am, pd } = await start();
    expect((await post('/api/v1/intake/alertmanager/00000000000000000000000000000000', amWebhook([]))).status).toBe(404);
    expect((await post(`/api/v1/intake/alertmanager/${pd.key}`, amWebhook([]))).status).toBe(400);
    const bad = await post(new URL(am.url).pathname, {
      ...amWebhook([amAlert('a', 'firing', 'fa')]),
      version: '3',
      alerts: [{ status: 'burning' }],
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { details: { issues: { pointer: string }[] } } };
    expect(body.error.details.issues.map((i) => i.pointer)).toEqual(expect.arrayContaining(['/version', '/alerts/0/status']));
    expect(await groups()).toEqual([]);

    const disable = await server!.request('/api/v1/resources/apply', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: 'apiVersion: opsdeck.dev/v1\nkind: Integration\nmetadata: { name: am }\nspec: { service: feed, type: alertmanager, disabled: true }\n',
    });
    expect(disable.status).toBe(200);
    expect((await post(new URL(am.url).pathname, amWebhook([amAlert('a', 'firing', 'fa')]))).status).toBe(403);

    // Rotation: the old key stops working at once; only admins see keys.
    const rotated = (await (await server!.request('/api/v1/integrations/pd/rotate', { method: 'POST' })).json()) as IntegrationUrl;
    expect(rotated.key).not.toBe(pd.key);
    const old = await post('/api/v1/intake/pagerduty/v2/enqueue', {
      routing_key: pd.key,
      event_action: 'trigger',
      payload: { summary: 's', source: 'x', severity: 'error' },
    });
    expect(old.status).toBe(404);
    expect((await fetch(`${server!.url}/api/v1/integrations/pd/url`)).status).toBe(401);
  });

  it("speaks PagerDuty Events v2: generated dedup keys, dedup, acknowledge, resolve, PagerDuty's errors, size and rate limits, change events", async () => {
    const { pd } = await start();
    const enqueue = (body: unknown) => post('/api/v1/intake/pagerduty/v2/enqueue', body);
    const trigger = {
      routing_key: pd.key,
      event_action: 'trigger',
      payload: { summary: 'Feed p99 above 2s', source: 'feed-1', severity: 'critical' },
    };
    let res = await enqueue(trigger);
    expect(res.status).toBe(202);
    const { dedup_key, status, message } = (await res.json()) as { dedup_key: string; status: string; message: string };
    expect({ status, message }).toEqual({ status: 'success', message: 'Event processed' });
    expect(dedup_key).toMatch(/^[0-9a-f]{32}$/);
    res = await enqueue({ ...trigger, dedup_key });
    expect(((await res.json()) as { dedup_key: string }).dedup_key).toBe(dedup_key);
    const [g] = await groups('active');
    expect(g).toMatchObject({ source: 'pagerduty', title: 'Feed p99 above 2s', events: 2 });
    expect((await group(g!.id)).alerts?.[0]).toMatchObject({ labels: { severity: 'critical', source: 'feed-1', dedup_key }, received: 2 });

    expect((await enqueue({ routing_key: pd.key, event_action: 'acknowledge', dedup_key })).status).toBe(202);
    expect((await group(g!.id)).status).toBe('acknowledged');
    expect((await enqueue({ routing_key: pd.key, event_action: 'resolve', dedup_key })).status).toBe(202);
    expect((await group(g!.id)).status).toBe('resolved');

    const invalid = await enqueue({ routing_key: pd.key, event_action: 'trigger', payload: { summary: '', severity: 'loud' } });
    expect(invalid.status).toBe(400);
    const err = (await invalid.json()) as { status: string; message: string; errors: string[] };
    expect(err.status).toBe('invalid event');
    expect(err.errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('payload.summary'),
        expect.stringContaining('payload.severity'),
        expect.stringContaining('payload.source'),
      ]),
    );
    const noKey = await enqueue({ routing_key: pd.key, event_action: 'resolve' });
    expect(((await noKey.json()) as { errors: string[] }).errors[0]).toMatch(/dedup_key/);
    const huge = await enqueue({ ...trigger, payload: { ...trigger.payload, custom_details: { blob: 'x'.repeat(600 * 1024) } } });
    expect(huge.status).toBe(413);

    const change = await post('/api/v1/intake/pagerduty/v2/change/enqueue', {
      routing_key: pd.key,
      payload: { summary: 'Deployed feed 1.4.2 via CI', source: 'ci' },
    });
    expect(change.status).toBe(202);
    const changes = (await (await server!.request('/api/v1/changes?service=feed')).json()) as {
      items: { type: string; data: { summary?: string } }[];
    };
    expect(changes.items.find((c) => c.type === 'alerting.change.received')?.data.summary).toBe('Deployed feed 1.4.2 via CI');
    expect(await groups('active')).toEqual([]); // change events never open groups

    // 120 events a minute per routing key, then 429 with Retry-After.
    let limited: Response | undefined;
    for (let i = 0; i < 130 && !limited; i++) {
      const r = await enqueue({ ...trigger, dedup_key: 'flood' });
      if (r.status === 429) limited = r;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);

  it('takes Prometheus alerts on /api/v2/alerts with the key as bearer or basic password, and resolves an alert whose endsAt passes unrenewed', async () => {
    const clock = new FakeClock(T0);
    const { prom } = await start(clock);
    const alert = (instance: string, endsInMs: number) => ({
      labels: { alertname: 'DiskFull', instance, service: 'feed' },
      annotations: { summary: 'disk almost full' },
      startsAt: new Date(T0).toISOString(),
      endsAt: new Date(clock.now() + endsInMs).toISOString(),
    });
    expect((await post('/api/v2/alerts', [alert('a', 240_000)])).status).toBe(404);
    expect((await post('/api/v2/alerts', [alert('a', 240_000), alert('b', 240_000)], { authorization: `Bearer ${prom.key}` })).status).toBe(
      200,
    );
    const basic = Buffer.from(`prometheus:${prom.key}`).toString('base64');
    clock.advance(60_000);
    // Prometheus re-sends a: its endsAt moves on; b is not sent again.
    expect((await post('/api/v2/alerts', [alert('a', 240_000)], { authorization: `Basic ${basic}` })).status).toBe(200);
    const [g] = await groups('active');
    expect(g).toMatchObject({ source: 'prometheus', groupLabels: { alertname: 'DiskFull' } });

    // The background worker may have claimed a due job before runDue: wait for its effect.
    const settle = async (check: (d: GroupView) => boolean) => {
      for (let i = 0; i < 100; i++) {
        await server!.core.jobs.runDue();
        const d = await group(g!.id);
        if (check(d)) return d;
        await new Promise((r) => setTimeout(r, 20));
      }
      return group(g!.id);
    };
    clock.advance(190_000); // past b's endsAt, before a's
    let detail = await settle((d) => d.alerts!.some((a) => a.status === 'resolved'));
    expect(Object.fromEntries(detail.alerts!.map((a) => [a.labels.instance, a.status]))).toEqual({ a: 'firing', b: 'resolved' });
    expect(detail.status).toBe('open');
    clock.advance(60_000);
    detail = await settle((d) => d.status === 'resolved');
    expect(detail).toMatchObject({ status: 'resolved', resolvedBy: 'expired' });

    const bad = await post('/api/v2/alerts', [{ labels: {} }], { authorization: `Bearer ${prom.key}` });
    expect(bad.status).toBe(400);
  });

  it('groups generic webhook alerts by the configured labels; people acknowledge and resolve, audited', async () => {
    const { hook } = await start();
    const path = new URL(hook.url).pathname;
    const send = (status: string, region: string, key: string) =>
      post(path, { alerts: [{ status, title: 'Checkout failing', key, labels: { region } }] });
    expect((await send('firing', 'eu', 'k1')).status).toBe(200);
    await send('firing', 'eu', 'k2');
    await send('firing', 'us', 'k3');
    const active = await groups('active');
    expect(active.map((g) => g.groupLabels.region).sort()).toEqual(['eu', 'us']);
    const eu = active.find((g) => g.groupLabels.region === 'eu')!;
    expect((await group(eu.id)).alerts).toHaveLength(2);
    expect((await post(path, { alerts: [{ status: 'weird' }] })).status).toBe(400);

    const ack = await server!.request(`/api/v1/alert-groups/${eu.id}/ack`, { method: 'POST', json: { reason: 'looking' } });
    expect(ack.status).toBe(200);
    expect(await ack.json()).toMatchObject({ status: 'acknowledged', acknowledgedBy: expect.any(String) });
    const resolve = await server!.request(`/api/v1/alert-groups/${eu.id}/resolve`, { method: 'POST', json: {} });
    expect(((await resolve.json()) as GroupView).alerts?.every((a) => a.status === 'resolved')).toBe(true);
    const audit = (await (await server!.request('/api/v1/audit?action=alerting.group.acknowledge')).json()) as { items: unknown[] };
    expect(audit.items).toHaveLength(1);
    expect((await server!.request('/api/v1/alert-groups/alg_missing/ack', { method: 'POST', json: {} })).status).toBe(404);
  });
});
