import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { DIALECTS } from '../../testing/databases.js';
import { startTestServer, type TestServer } from '../../testing/server.js';
import type { AlertView } from './alerting.routes.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');

/** Moves the fake clock a second at a time, letting each scheduler tick's async work start. */
async function stepClock(clock: FakeClock, ms: number) {
  for (let done = 0; done < ms; done += 1000) {
    clock.advance(Math.min(1000, ms - done));
    await new Promise((r) => setTimeout(r, 5));
  }
}

const RULES = `apiVersion: opsdeck.dev/v1
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
kind: AlertRule
metadata: { name: feed-errors }
spec:
  interval: 15s
  service: feed
  rules:
    - alert: HighErrorRatio
      expr: error_ratio > 0.1
      for: 1m
      keep_firing_for: 30s
      labels: { severity: page }
      annotations: { summary: "{{ $labels.route }} errors at {{ $value | humanizePercentage }}" }
`;

describe.each(DIALECTS)('alert rules on %s', (dialect) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const apply = (yaml: string) =>
    server!.request('/api/v1/resources/apply', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yaml });
  const alerts = async () => ((await (await server!.request('/api/v1/alerting/alerts')).json()) as { items: AlertView[] }).items;
  const firingEvents = async (type: string) =>
    ((await (await server!.request(`/api/v1/events?types=${type}`)).json()) as { items: unknown[] }).items.length;

  /** Pushes `value` now, then moves the fake clock until the group's next evaluation is recorded. */
  async function evaluation(clock: FakeClock, value: number, metric = 'error_ratio{route="/feed"}') {
    await server!.request('/api/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `${metric} ${value} ${clock.now()}\n`,
    });
    const last = async () =>
      Number((await server!.core.db.selectFrom('alerting_rule_state').select('last_eval_at').executeTakeFirst())?.last_eval_at ?? 0);
    const before = await last();
    for (let i = 0; i < 40; i++) {
      await stepClock(clock, 1000);
      for (let j = 0; j < 20 && (await last()) === before; j++) await new Promise((r) => setTimeout(r, 5));
      if ((await last()) !== before) return;
    }
    throw new Error(`no evaluation after ${new Date(before).toISOString()}`);
  }

  it('goes pending, fires after `for` exactly once, keeps the pending start across a restart, and resolves after keep_firing_for', async () => {
    const clock = new FakeClock(T0);
    server = await startTestServer({ dialect, clock });
    const applied = await apply(RULES);
    expect(applied.status, await applied.text()).toBe(200);
    await evaluation(clock, 0.01);
    expect(await alerts()).toEqual([]);
    await evaluation(clock, 0.3);
    let [alert] = await alerts();
    const activeAt = clock.now();
    expect(alert).toMatchObject({
      state: 'pending',
      activeAt,
      labels: { alertname: 'HighErrorRatio', route: '/feed', severity: 'page', service: 'feed' },
      annotations: { summary: '/feed errors at 30%' },
      value: 0.3,
    });

    // A restart while pending: the `for` clock keeps counting from the first sighting.
    await evaluation(clock, 0.3);
    const store = server.store;
    await server.close();
    server = await startTestServer({ dialect, clock, store });
    await evaluation(clock, 0.3);
    await evaluation(clock, 0.3);
    [alert] = await alerts();
    expect(alert).toMatchObject({ state: 'pending', activeAt });
    await evaluation(clock, 0.3);
    [alert] = await alerts();
    expect(alert).toMatchObject({ state: 'firing', activeAt, firedAt: activeAt + 60_000 });
    expect(await firingEvents('alerting.alert.firing')).toBe(1);
    // The rule's alert opens an alert group like any intake would.
    const groups = async () =>
      ((await (await server!.request('/api/v1/alert-groups')).json()) as { items: { source: string; status: string; service: string }[] })
        .items;
    /** The background dispatcher may be delivering the event already: dispatch and poll. */
    const delivered = async (check: (g: Awaited<ReturnType<typeof groups>>) => boolean) => {
      for (let i = 0; i < 100 && !check(await groups()); i++) {
        await server!.core.events.dispatch();
        await new Promise((r) => setTimeout(r, 20));
      }
      return groups();
    };
    expect(await delivered((g) => g.length > 0)).toEqual([expect.objectContaining({ source: 'rule', status: 'open', service: 'feed' })]);

    // Still bad: no second firing event. Then good again: firing for keep_firing_for (30 s), then resolved.
    await evaluation(clock, 0.4);
    await evaluation(clock, 0.02);
    expect((await alerts())[0]?.state).toBe('firing');
    await evaluation(clock, 0.02);
    [alert] = await alerts();
    expect(alert).toMatchObject({ state: 'resolved', resolvedAt: clock.now() });
    expect(await firingEvents('alerting.alert.firing')).toBe(1);
    expect(await firingEvents('alerting.alert.resolved')).toBe(1);
    expect((await delivered((g) => g[0]?.status === 'resolved'))[0]?.status).toBe('resolved');

    const prom = (await (await server.request('/api/v1/rules')).json()) as {
      data: { groups: { name: string; rules: { name: string; health: string; state: string }[] }[] };
    };
    expect(prom.data.groups[0]).toMatchObject({
      name: 'feed-errors',
      rules: [{ name: 'HighErrorRatio', health: 'ok', state: 'inactive' }],
    });
  }, 60_000);

  it('refuses a rule whose expression does not parse, or whose anomaly spec is wrong, naming the field', async () => {
    server = await startTestServer({ dialect, clock: new FakeClock(T0) });
    const bad = await apply(`apiVersion: opsdeck.dev/v1
kind: AlertRule
metadata: { name: broken }
spec:
  rules:
    - alert: Broken
      expr: sum(rate(x[5m])
    - alert: Odd
      expr: x
      anomaly: { method: robust, k: -1 }
`);
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { details: { issues: { pointer: string; message: string }[] } } };
    const pointers = body.error.details.issues.map((i) => i.pointer);
    expect(pointers).toContain('/spec/rules/0/expr');
    expect(pointers.some((p) => p.startsWith('/spec/rules/1/anomaly'))).toBe(true);
    expect((await (await server.request('/api/v1/rules')).json()) as unknown).toMatchObject({ data: { groups: [] } });
  });

  it('fires an anomaly rule on a spike against the series’ own history, with the detector’s sentence', async () => {
    const clock = new FakeClock(T0);
    server = await startTestServer({ dialect, clock });
    // Two hours of a steady, slightly noisy request rate.
    const lines: string[] = [];
    for (let i = 0; i < 480; i++) lines.push(`req_rate{route="/feed"} ${100 + ((i * 37) % 11) - 5} ${T0 + i * 15_000}`);
    expect(
      (
        await server.request('/api/v1/metrics', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: `${lines.join('\n')}\n`,
        })
      ).status,
    ).toBe(200);
    clock.set(T0 + 479 * 15_000);
    const applied = await apply(`apiVersion: opsdeck.dev/v1
kind: AlertRule
metadata: { name: feed-traffic }
spec:
  interval: 15s
  rules:
    - alert: TrafficAnomaly
      expr: req_rate
      anomaly: { method: robust, window: 1h }
`);
    expect(applied.status, await applied.text()).toBe(200);
    await evaluation(clock, 101, 'req_rate{route="/feed"}');
    expect(await alerts()).toEqual([]);
    await evaluation(clock, 400, 'req_rate{route="/feed"}');
    const [alert] = await alerts();
    expect(alert).toMatchObject({ state: 'firing', labels: { alertname: 'TrafficAnomaly', route: '/feed' }, value: 400 });
    expect(alert?.annotations.anomaly).toMatch(/400/);
  }, 60_000);
});
