import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../testing/databases.js';
import { FakeClock } from '../clock.js';
import { createLogger } from '../logger.js';
import { type DomainEvent, type Events, topicMatches } from './events.js';
import { eventsMigrations } from './events.migrations.js';
import { createEvents } from './outbox.js';

const logger = createLogger({ level: 'silent' });

describe('topicMatches', () => {
  it('matches exact topics, prefixes and the wildcard', () => {
    expect(topicMatches('incidents.incident.declared', ['incidents.*'])).toBe(true);
    expect(topicMatches('incidentsx.a', ['incidents.*'])).toBe(false);
    expect(topicMatches('a.b', ['a.b'])).toBe(true);
    expect(topicMatches('a.b', ['*'])).toBe(true);
    expect(topicMatches('a.b', [])).toBe(true);
    expect(topicMatches('a.b', ['a.c'])).toBe(false);
  });
});

describe.each(DIALECTS)('outbox on %s', (dialect) => {
  let database: TestDatabase;
  let events: Events;
  const clock = new FakeClock('2026-03-01T00:00:00Z');

  beforeEach(async () => {
    database = await openTestDatabase(dialect, [{ module: 'core', migrations: eventsMigrations }]);
    events = createEvents({ database, clock, logger });
  });
  afterEach(async () => {
    await events.stop();
    await database.destroy();
  });

  const publish = (type: string, service?: string, change = false) =>
    database.db.transaction().execute((tx) => events.publish(tx, { type, service, change, data: { type }, subject: `x/${type}` }));

  it('publishes only with the committing transaction', async () => {
    await publish('a.one');
    await expect(
      database.db.transaction().execute(async (tx) => {
        await events.publish(tx, { type: 'a.two' });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect((await events.list({})).map((e) => e.type)).toEqual(['a.one']);
  });

  it('filters the change timeline by service, newest first', async () => {
    await publish('catalog.service.applied', 'feed', true);
    await publish('alerting.alert.fired', 'feed', false);
    await publish('runtime.instance.restarted', 'feed', true);
    await publish('runtime.instance.restarted', 'ranker', true);
    const changes = await events.list({ service: 'feed', changesOnly: true, newestFirst: true });
    expect(changes.map((e) => e.type)).toEqual(['runtime.instance.restarted', 'catalog.service.applied']);
    expect(changes[0]).toMatchObject({ service: 'feed', change: true, at: clock.now(), data: { type: 'runtime.instance.restarted' } });
  });

  it('delivers to durable subscribers at least once, resuming from the cursor', async () => {
    const seen: string[] = [];
    let failNext = true;
    events.subscribe({
      id: 'test.sub',
      types: ['a.*'],
      async handle(event: DomainEvent, tx) {
        if (event.type === 'a.fail' && failNext) {
          failNext = false;
          throw new Error('transient');
        }
        seen.push(event.type);
        await tx
          .insertInto('event_cursors')
          .values({ subscriber: `mark-${event.seq}`, seq: 0, failures: 0, last_error: null, updated_at: 0 })
          .execute();
      },
    });
    await publish('a.one');
    await publish('b.skip');
    await publish('a.fail');
    await publish('a.three');
    await events.dispatch();
    // The failing batch rolled back entirely (including the handler's own writes), so a.one is redelivered.
    expect(seen).toEqual(['a.one']);
    const marks = await database.db.selectFrom('event_cursors').select('subscriber').where('subscriber', 'like', 'mark-%').execute();
    expect(marks).toEqual([]);
    await events.dispatch();
    expect(seen).toEqual(['a.one', 'a.one', 'a.fail', 'a.three']);
    expect(await events.lag()).toEqual([{ subscriber: 'test.sub', lag: 0 }]);
    await events.dispatch();
    expect(seen.length).toBe(4);
  });

  it('feeds live listeners after start', async () => {
    await events.start({ api: true, worker: false });
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      events.listen((e) => {
        got.push(e.type);
        if (got.length === 2) resolve();
      });
    });
    await publish('live.one');
    await publish('live.two');
    await done;
    expect(got).toEqual(['live.one', 'live.two']);
  });
});
