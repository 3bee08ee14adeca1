import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { DIALECTS } from '../../../testing/databases.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import type { OnCallSegment } from '../contracts.js';

const T0 = Date.parse('2026-03-25T12:00:00Z'); // a Wednesday

const users = ['alice', 'bob', 'carol', 'dave']
  .map(
    (u) => `apiVersion: opsdeck.dev/v1\nkind: User\nmetadata: { name: ${u} }\nspec: { email: ${u}@example.com, timeZone: Europe/Dublin }\n`,
  )
  .join('---\n');

const SCHEDULE = `apiVersion: opsdeck.dev/v1
kind: Schedule
metadata: { name: feed-primary }
spec:
  timeZone: Europe/Dublin
  layers:
    - name: weekly
      users: [alice, bob]
      turn: 1w
      handoff: { weekday: monday, time: "09:00" }
      start: "2026-01-05"
    - name: business-hours
      users: [carol]
      turn: 1w
      handoff: { weekday: monday, time: "09:00" }
      start: "2026-01-05"
      restrictions: [ { daily: { from: "10:00", to: "12:00" } } ]
`;

describe.each(DIALECTS)('schedules on %s', (dialect) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.destroy();
    server = undefined;
  });
  const apply = (body: string) =>
    server!.request('/api/v1/resources/apply', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body });
  async function start() {
    server = await startTestServer({ dialect, clock: new FakeClock(T0) });
    const res = await apply(`${users}---\n${SCHEDULE}`);
    expect(res.status, await res.text()).toBe(200);
  }
  const pointers = async (res: Response) => {
    expect(res.status).toBe(400);
    return ((await res.json()) as { error: { details: { issues: { pointer: string }[] } } }).error.details.issues.map((i) => i.pointer);
  };

  it('renders with provenance, says who is on call now and next, and takes overrides and swaps (audited)', async () => {
    await start();
    const who = async (at?: string) =>
      (await (await server!.request(`/api/v1/schedules/feed-primary/oncall${at ? `?at=${at}` : ''}`)).json()) as {
        current: OnCallSegment;
        next: OnCallSegment;
      };
    // Wednesday 12:00 UTC = 13:00 Dublin: the weekly layer (turn 11 since 2026-01-05: bob).
    expect((await who()).current).toMatchObject({ users: ['bob'], layer: 'weekly' });
    expect((await who('2026-03-26T10:30:00Z')).current).toMatchObject({ users: ['carol'], layer: 'business-hours' });
    expect((await who()).next).toMatchObject({ users: ['carol'], start: Date.parse('2026-03-26T10:00:00Z') });

    const render = (await (
      await server!.request('/api/v1/schedules/feed-primary/render?from=2026-03-30T00:00:00Z&to=2026-03-31T00:00:00Z')
    ).json()) as {
      final: OnCallSegment[];
      layers: { name: string }[];
    };
    expect(render.layers.map((l) => l.name)).toEqual(['weekly', 'business-hours']);
    expect(render.final.map((s) => [new Date(s.start).toISOString().slice(11, 16), s.users.join(), s.layer])).toEqual([
      ['00:00', 'bob', 'weekly'],
      ['08:00', 'alice', 'weekly'], // 09:00 IST after the DST change
      ['09:00', 'carol', 'business-hours'],
      ['11:00', 'alice', 'weekly'],
    ]);

    const override = await server!.request('/api/v1/schedules/feed-primary/overrides', {
      method: 'POST',
      json: { user: 'dave', from: '2026-03-25T13:00:00Z', to: '2026-03-25T15:00:00Z', reason: 'bob at the dentist' },
    });
    expect(override.status).toBe(201);
    const { id } = (await override.json()) as { id: string };
    expect((await who('2026-03-25T14:00:00Z')).current).toMatchObject({ users: ['dave'], layer: 'override', overrideId: id });
    const listed = (await (await server!.request('/api/v1/schedules/feed-primary/overrides')).json()) as { items: { id: string }[] };
    expect(listed.items.map((o) => o.id)).toEqual([id]);
    expect((await server!.request(`/api/v1/schedules/feed-primary/overrides/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await who('2026-03-25T14:00:00Z')).current.users).toEqual(['bob']);

    const swap = await server!.request('/api/v1/schedules/feed-primary/swaps', {
      method: 'POST',
      json: { fromUser: 'bob', toUser: 'dave', from: '2026-03-27T00:00:00Z', to: '2026-03-28T00:00:00Z' },
    });
    expect(swap.status).toBe(201);
    expect((await who('2026-03-27T20:00:00Z')).current).toMatchObject({ users: ['dave'], layer: 'weekly' });
    expect((await who('2026-03-28T20:00:00Z')).current.users).toEqual(['bob']);
    const noShift = await server!.request('/api/v1/schedules/feed-primary/swaps', {
      method: 'POST',
      json: { fromUser: 'carol', toUser: 'dave', from: '2026-03-28T13:00:00Z', to: '2026-03-28T20:00:00Z' },
    });
    expect(await pointers(noShift)).toEqual(['/fromUser']);
    const audit = (await (await server!.request('/api/v1/audit?limit=20')).json()) as { items: { action: string }[] };
    expect(audit.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['oncall.override.create', 'oncall.override.delete', 'oncall.swap.create']),
    );
  });

  it('exports iCalendar per schedule and per person (RFC 5545 lines, one event per shift)', async () => {
    await start();
    const res = await server!.request('/api/v1/schedules/feed-primary/ical?from=2026-03-30T00:00:00Z&to=2026-04-02T00:00:00Z');
    expect(res.headers.get('content-type')).toMatch(/^text\/calendar/);
    const body = await res.text();
    expect(body.endsWith('\r\n')).toBe(true);
    const lines = body.split('\r\n').slice(0, -1);
    expect(lines.every((l) => Buffer.byteLength(l) <= 75)).toBe(true);
    expect(lines[0]).toBe('BEGIN:VCALENDAR');
    expect(lines.at(-1)).toBe('END:VCALENDAR');
    const events = lines.filter((l) => l === 'BEGIN:VEVENT').length;
    expect(events).toBe(lines.filter((l) => l === 'END:VEVENT').length);
    // bob until Monday 08:00 UTC, then alice around carol's 10:00–12:00 Dublin window each day.
    expect(events).toBe(8);
    expect(body).toContain('DTSTART:20260330T080000Z');
    expect(body).toContain('SUMMARY:On call: carol (feed-primary)');
    const carol = await (await server!.request('/api/v1/users/carol/ical?from=2026-03-30T00:00:00Z&to=2026-04-02T00:00:00Z')).text();
    expect(carol.split('\r\n').filter((l) => l === 'BEGIN:VEVENT')).toHaveLength(3);
    expect(carol).not.toContain('alice');
  });

  it('refuses bad schedules at apply time naming the field, and warns about gaps', async () => {
    await start();
    const bad = (layer: string) =>
      apply(`apiVersion: opsdeck.dev/v1\nkind: Schedule\nmetadata: { name: bad }\nspec:\n  timeZone: UTC\n  layers:\n    - ${layer}\n`);
    expect(await pointers(await bad('{ name: a, users: [], turn: 1w, handoff: { time: "09:00" }, start: "2026-01-05" }'))).toEqual([
      '/spec/layers/0/users',
    ]);
    expect(await pointers(await bad('{ name: a, users: [ghost], turn: 1w, handoff: { time: "09:00" }, start: "2026-01-05" }'))).toEqual([
      '/spec/layers/0/users/0',
    ]);
    expect(
      await pointers(
        await bad(
          '{ name: a, users: [alice], turn: 1w, handoff: { time: "09:00" }, start: "2026-01-05", restrictions: [ { daily: { from: "16:00", to: "08:00" } } ] }',
        ),
      ),
    ).toEqual(['/spec/layers/0/restrictions/0/daily/to']);
    expect(
      await pointers(await bad('{ name: a, users: [alice], turn: 1d, handoff: { weekday: monday, time: "09:00" }, start: "2026-01-05" }')),
    ).toEqual(['/spec/layers/0/handoff/weekday']);
    expect(
      await pointers(
        await bad('{ name: a, users: [alice], turn: 1w, handoff: { time: "09:00" }, start: "2026-01-05", timeZone: Mars/Olympus }'),
      ),
    ).toEqual(['/spec/layers/0/timeZone']);
    const zone = await apply(
      'apiVersion: opsdeck.dev/v1\nkind: Schedule\nmetadata: { name: bad }\nspec: { timeZone: Nowhere/City, layers: [ { name: a, users: [alice], turn: 1w, handoff: { time: "09:00" }, start: "2026-01-05" } ] }\n',
    );
    expect(await pointers(zone)).toEqual(['/spec/timeZone']);
    expect((await server!.request('/api/v1/schedules/bad/render')).status).toBe(404);

    const gappy = await apply(
      'apiVersion: opsdeck.dev/v1\nkind: Schedule\nmetadata: { name: days-only }\nspec: { timeZone: UTC, layers: [ { name: a, users: [alice], turn: 1w, handoff: { weekday: monday, time: "00:00" }, start: "2026-01-05", restrictions: [ { daily: { from: "08:00", to: "20:00" } } ] } ] }\n',
    );
    expect(gappy.status).toBe(200);
    const events = (await (await server!.request('/api/v1/events?types=oncall.schedule.gap')).json()) as {
      items: { data: { schedule: string; total: number } }[];
    };
    expect(events.items).toHaveLength(1);
    expect(events.items[0]!.data).toMatchObject({ schedule: 'days-only', total: 14 });
    expect(
      await pointers(
        await server!.request('/api/v1/schedules/feed-primary/overrides', {
          method: 'POST',
          json: { user: 'ghost', from: 'soon', to: '2026-01-01' },
        }),
      ),
    ).toEqual(['/from', '/user']);
  });
});
