import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, systemActor } from '../../../core/auth/roles.js';
import { FakeClock } from '../../../core/clock.js';
import type { DomainEvent } from '../../../core/events/events.js';
import { DIALECTS } from '../../../testing/databases.js';
import type { TestServer } from '../../../testing/server.js';
import {
  apply,
  createToken,
  deliveryApi,
  doc,
  json,
  serviceDoc,
  startDeliveryServer,
  TEAM,
  until,
} from '../pipelines/delivery.test-support.js';
import type { FreezeView } from './freezes.schema.js';

type ErrorBody = { error: { code: string; message: string; details?: { issues?: { pointer: string; message: string }[] } } };

const incidents: Actor = { kind: 'system', name: 'incidents', role: 'admin' };

describe.each(DIALECTS)('freezes on %s', (dialect) => {
  let server: TestServer;
  const clock = new FakeClock('2026-07-06T00:00:00Z'); // a Monday; Dublin is on IST (UTC+1)
  let viewer: string;

  beforeAll(async () => {
    server = await startDeliveryServer({ dialect, clock });
    viewer = await createToken(server, 'reader', 'viewer');
    await apply(server, TEAM, serviceDoc('feed'), serviceDoc('search'));
  });
  afterAll(() => server?.destroy());

  const list = async (query = '') => (await json<{ items: FreezeView[] }>(server.request(`/api/v1/freezes${query}`))).body.items;
  const freezeEvents = async () =>
    (await json<{ items: DomainEvent[] }>(server.request('/api/v1/events?types=delivery.freeze.*&limit=1000'))).body.items;

  it('refuses Freeze resources that do not make sense, naming the field', async () => {
    const bad = [
      doc('Freeze', 'bad', { services: ['nope'], reason: 'x', windows: [{ start: '2026-07-07T00:00:00Z', end: '2026-07-06T00:00:00Z' }] }),
      doc('Freeze', 'bad2', { services: ['*', 'feed'], reason: 'x', windows: [{ recurring: { cron: 'not a cron', duration: '1h' } }] }),
      doc('Freeze', 'bad3', { services: ['feed'], reason: 'x', windows: [{ recurring: { days: ['fri'], timeZone: 'Mars/Olympus' } }, {}] }),
    ];
    const res = await json<ErrorBody>(server.request('/api/v1/resources/apply', { method: 'POST', json: { documents: bad } }));
    expect(res.status).toBe(400);
    const issues = res.body.error.details!.issues!.map((i) => `${i.pointer}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/spec\/services\/0: Service 'nope' does not exist/),
        expect.stringMatching(/^\/spec\/windows\/0\/end: must be after start/),
        expect.stringMatching(/^\/spec\/services: '\*' already means every service/),
        expect.stringMatching(/^\/spec\/windows\/0\/recurring\/cron: not a cron pattern/),
        expect.stringMatching(/^\/spec\/windows\/0\/recurring\/timeZone: /),
      ]),
    );
  });

  it('a recurring Freeze applies on Friday afternoons, Dublin time, and announces itself starting and ending', async () => {
    await apply(
      server,
      doc('Freeze', 'no-friday-deploys', {
        services: ['feed'],
        reason: 'no Friday-afternoon deploys',
        windows: [{ recurring: { days: ['fri'], from: '14:00', to: '23:59', timeZone: 'Europe/Dublin' } }],
      }),
    );
    expect(await list()).toEqual([]);
    // Friday 2026-07-10 15:00 IST.
    expect((await list('?service=feed&at=2026-07-10T14:00:00Z')).map((f) => [f.name, f.until])).toEqual([
      ['no-friday-deploys', Date.parse('2026-07-10T23:00:00Z')],
    ]);
    expect(await list('?service=search&at=2026-07-10T14:00:00Z')).toEqual([]);
    expect(await deliveryApi(server).freezes.active('feed', Date.parse('2026-07-10T12:59:00Z'))).toEqual([]);
    expect(await deliveryApi(server).freezes.active('feed', Date.parse('2026-07-10T13:00:00Z'))).toEqual([
      { name: 'no-friday-deploys', reason: 'no Friday-afternoon deploys', until: Date.parse('2026-07-10T23:00:00Z') },
    ]);

    // The window watcher is a durable timer: it wakes at the boundary and announces the change once.
    clock.set('2026-07-10T13:00:00Z');
    await until(server, 'freeze started', async () => (await freezeEvents()).find((e) => e.type === 'delivery.freeze.started'));
    clock.set('2026-07-10T23:00:00Z');
    await until(server, 'freeze lifted', async () => (await freezeEvents()).find((e) => e.type === 'delivery.freeze.lifted'));
    await server.core.jobs.runDue();
    const events = (await freezeEvents()).filter((e) => e.subject === 'Freeze/no-friday-deploys');
    expect(events.map((e) => [e.type, e.service, e.change, e.at])).toEqual([
      ['delivery.freeze.started', 'feed', true, Date.parse('2026-07-10T13:00:00Z')],
      ['delivery.freeze.lifted', 'feed', true, Date.parse('2026-07-10T23:00:00Z')],
    ]);
    expect(await list('?service=feed')).toEqual([]);
  });

  it("a date-range Freeze on '*' covers every service", async () => {
    await apply(
      server,
      doc('Freeze', 'holidays', {
        services: ['*'],
        reason: 'holiday freeze',
        windows: [{ start: '2026-12-24T00:00:00Z', end: '2026-12-27T00:00:00Z' }],
      }),
    );
    const at = Date.parse('2026-12-25T10:00:00Z');
    expect((await deliveryApi(server).freezes.active('search', at)).map((f) => f.name)).toEqual(['holidays']);
    expect((await deliveryApi(server).freezes.active('anything', at)).map((f) => f.name)).toEqual(['holidays']);
    expect(await deliveryApi(server).freezes.active('search', Date.parse('2026-12-27T00:00:00Z'))).toEqual([]);
    const [view] = await list('?at=2026-12-25T10:00:00Z');
    expect(view).toMatchObject({ name: 'holidays', source: 'resource', services: ['*'], since: Date.parse('2026-12-24T00:00:00Z') });
  });

  it('other modules freeze and lift through the API: audited, on the change timeline, idempotent', async () => {
    const freezes = deliveryApi(server).freezes;
    await freezes.freeze({ key: 'incident:INC-12', service: 'feed', reason: 'SEV1 INC-12', actor: incidents });
    await freezes.freeze({ key: 'incident:INC-12', service: 'feed', reason: 'SEV1 INC-12', actor: incidents });
    const now = clock.now();
    expect(await freezes.active('feed', now)).toEqual([{ name: 'incident:INC-12', reason: 'SEV1 INC-12', until: null }]);
    expect(await freezes.active('search', now)).toEqual([]);
    // Inside the caller's transaction, as incidents would do it.
    await server.core.db
      .transaction()
      .execute((tx) => freezes.freeze({ key: 'incident:INC-13', service: '*', reason: 'SEV2', actor: systemActor }, tx));
    expect((await freezes.active('search', now)).map((f) => f.name)).toEqual(['incident:INC-13']);
    await freezes.lift('incident:INC-12', incidents);
    await freezes.lift('incident:INC-12', incidents);
    await freezes.lift('incident:INC-13', systemActor);
    expect(await freezes.active('feed', now)).toEqual([]);

    const events = (await freezeEvents()).filter((e) => (e.subject ?? '').startsWith('freeze/incident'));
    expect(events.map((e) => [e.type, e.service, e.subject, e.actor])).toEqual([
      ['delivery.freeze.started', 'feed', 'freeze/incident:INC-12', 'incidents'],
      ['delivery.freeze.started', null, 'freeze/incident:INC-13', 'system'],
      ['delivery.freeze.lifted', 'feed', 'freeze/incident:INC-12', 'incidents'],
      ['delivery.freeze.lifted', null, 'freeze/incident:INC-13', 'system'],
    ]);
    expect(events.every((e) => e.change)).toBe(true);
    expect((events[1]!.data as { service: string }).service).toBe('*');
    const audit = await server.core.audit.list({ action: 'delivery.freeze' });
    expect(audit.map((a) => [a.action, a.target]).reverse()).toEqual([
      ['delivery.freeze.started', 'freeze/incident:INC-12'],
      ['delivery.freeze.started', 'freeze/incident:INC-13'],
      ['delivery.freeze.lifted', 'freeze/incident:INC-12'],
      ['delivery.freeze.lifted', 'freeze/incident:INC-13'],
    ]);
  });

  it('deployers set and lift manual emergency freezes over HTTP; viewers may only look', async () => {
    const created = await json<FreezeView>(
      server.request('/api/v1/freezes', { method: 'POST', json: { service: 'search', reason: 'db migration' } }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ source: 'api', services: ['search'], reason: 'db migration', until: null, createdBy: 'admin' });
    expect(created.body.name).toMatch(/^manual:/);
    expect((await list('?service=search')).map((f) => f.name)).toEqual([created.body.name]);
    const again = await json<FreezeView>(
      server.request('/api/v1/freezes', { method: 'POST', json: { key: created.body.name, service: 'search', reason: 'db migration' } }),
    );
    expect(again.status).toBe(200);

    expect(
      (await server.request('/api/v1/freezes', { method: 'POST', json: { service: 'feed', reason: 'x' }, token: viewer })).status,
    ).toBe(403);
    expect((await server.request('/api/v1/freezes', { token: viewer })).status).toBe(200);
    const unknown = await json<ErrorBody>(server.request('/api/v1/freezes', { method: 'POST', json: { service: 'nope', reason: 'x' } }));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/Service 'nope' does not exist; known services: feed, search/);
    const badKey = await json<ErrorBody>(
      server.request('/api/v1/freezes', { method: 'POST', json: { key: 'a/b', service: 'feed', reason: 'x' } }),
    );
    expect(badKey.status).toBe(400);

    expect((await server.request(`/api/v1/freezes/${created.body.name}`, { method: 'DELETE' })).status).toBe(200);
    expect(await list('?service=search')).toEqual([]);
    const gone = await json<ErrorBody>(server.request(`/api/v1/freezes/${created.body.name}`, { method: 'DELETE' }));
    expect(gone.status).toBe(404);
    const resource = await json<ErrorBody>(server.request('/api/v1/freezes/holidays', { method: 'DELETE' }));
    expect(resource.body.error.message).toMatch(/Freeze 'holidays' is a resource: remove it with opsdeck delete freeze holidays/);
  });

  it('deleting an active Freeze announces the lift', async () => {
    clock.set('2026-12-25T00:00:00Z');
    await until(server, 'holiday freeze started', async () =>
      (await freezeEvents()).find((e) => e.subject === 'Freeze/holidays' && e.type === 'delivery.freeze.started'),
    );
    expect((await server.request('/api/v1/resources/Freeze/holidays', { method: 'DELETE' })).status).toBe(200);
    const events = (await freezeEvents()).filter((e) => e.subject === 'Freeze/holidays');
    expect(events.map((e) => [e.type, e.service])).toEqual([
      ['delivery.freeze.started', null],
      ['delivery.freeze.lifted', null],
    ]);
    expect(await deliveryApi(server).freezes.active('feed', clock.now())).toEqual([]);
  });
});
