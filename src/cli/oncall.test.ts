import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { runCli } from '../modules/delivery/pipelines/delivery.test-support.js';
import { startTestServer, type TestServer } from '../testing/server.js';

const NOWHERE = { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' };
const T0 = Date.parse('2026-03-25T12:00:00Z');

describe('oncall commands', () => {
  it('refuses who without a target (or with both) and bad times with exit 2', async () => {
    expect((await runCli(NOWHERE, 'oncall', 'who')).code).toBe(2);
    expect((await runCli(NOWHERE, 'oncall', 'who', 'primary', '--service', 'feed')).code).toBe(2);
    const bad = await runCli(NOWHERE, 'oncall', 'who', 'primary', '--at', 'yesterday-ish');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--at/);
    expect((await runCli(NOWHERE, 'oncall', 'report', '--since', 'forever')).code).toBe(2);
  });

  describe('against a server', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ clock: new FakeClock(T0) });
      const users = ['alice', 'bob', 'dave']
        .map(
          (u) =>
            `apiVersion: opsdeck.dev/v1\nkind: User\nmetadata: { name: ${u} }\nspec: { email: ${u}@example.com, timeZone: UTC, contacts: [ { name: hook, type: webhook, url: "http://127.0.0.1:9/${u}" } ] }\n`,
        )
        .join('---\n');
      const res = await server.request('/api/v1/resources/apply', {
        method: 'POST',
        headers: { 'content-type': 'application/yaml' },
        body: `${users}---
apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: web }
spec: { members: [alice, bob] }
---
apiVersion: opsdeck.dev/v1
kind: Schedule
metadata: { name: primary }
spec:
  timeZone: Europe/Dublin
  layers: [ { name: weekly, users: [alice, bob], turn: 1w, handoff: { weekday: monday, time: "09:00" }, start: "2026-01-05" } ]
---
apiVersion: opsdeck.dev/v1
kind: EscalationPolicy
metadata: { name: feed }
spec: { steps: [ { notify: [ { schedule: primary } ], after: 5m }, { notify: [ { schedule: primary, who: next } ], after: 10m } ] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec: { owner: web, oncall: { escalationPolicy: feed } }
`,
      });
      expect(res.status, await res.text()).toBe(200);
    });
    afterAll(() => server?.destroy());

    it('says who is on call, renders the schedule in its zone, overrides, swaps, and reports', async () => {
      const who = await runCli(server.env, 'oncall', 'who', 'primary');
      expect(who.code, who.stderr).toBe(0);
      expect(who.stdout).toBe('now:  bob (weekly) until 2026-03-30T08:00:00.000Z\nnext: alice (weekly) from 2026-03-30T08:00:00.000Z\n');
      const service = await runCli(server.env, 'oncall', 'who', '--service', 'feed');
      expect(service.stdout).toBe('feed pages through feed:\n  step 1: bob, then waits 5m\n  step 2: alice, then waits 10m\n');

      const schedule = await runCli(
        server.env,
        'oncall',
        'schedule',
        'primary',
        '--from',
        '2026-03-29T00:00:00Z',
        '--to',
        '2026-03-31T00:00:00Z',
      );
      expect(schedule.stdout).toMatch(/FROM\s+TO\s+ON CALL\s+LAYER/);
      expect(schedule.stdout).toMatch(/Mon 2026-03-30 09:00\s+Tue 2026-03-31 01:00\s+alice\s+weekly/);

      const override = await runCli(
        server.env,
        'oncall',
        'override',
        'primary',
        '--user',
        'dave',
        '--from',
        '2026-03-25T11:00:00Z',
        '--to',
        '2026-03-25T14:00:00Z',
        '--reason',
        'cover',
      );
      expect(override.code, override.stderr).toBe(0);
      const id = /ovr_[0-9a-z]+/.exec(override.stdout)![0];
      expect((await runCli(server.env, 'oncall', 'who', 'primary')).stdout).toMatch(/^now: {2}dave \(override\)/);
      expect((await runCli(server.env, 'oncall', 'overrides', 'primary')).stdout).toContain(id);
      expect((await runCli(server.env, 'oncall', 'overrides', 'primary', '--delete', id)).stdout).toBe(`${id} cancelled\n`);
      const swap = await runCli(
        server.env,
        'oncall',
        'swap',
        'primary',
        '--from-user',
        'bob',
        '--to-user',
        'dave',
        '--from',
        '2026-03-25T11:00:00Z',
        '--to',
        '2026-03-25T13:00:00Z',
      );
      expect(swap.stdout).toMatch(/dave takes bob's shifts/);
      expect((await runCli(server.env, 'oncall', 'who', 'primary')).stdout).toMatch(/^now: {2}dave \(weekly\)/);

      await runCli(server.env, 'page', '--service', 'feed', '-m', 'Feed errors');
      const report = await runCli(server.env, 'oncall', 'report', '--since', '1d');
      expect(report.stdout).toMatch(/^1 pages since .*, 0 acknowledged/);
      expect(report.stdout).toMatch(/USER\s+PAGES\s+PER WEEK\s+OFF HOURS\s+ACKED\ndave\s+1/);
    });
  });
});
