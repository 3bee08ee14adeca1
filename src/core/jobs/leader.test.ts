import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../testing/databases.js';
import { DIALECTS, TEST_PG_URL } from '../../testing/databases.js';
import { FakeClock } from '../clock.js';
import { openJobsDatabase, quietLogger, within } from './jobs.test-support.js';
import { createLeaderElection, type LeaderElection } from './leader.js';

const LEASE_MS = 3000;

describe.each(DIALECTS)('leader election on %s', (dialect) => {
  let database: TestDatabase;
  let clock: FakeClock;
  const elections: LeaderElection[] = [];

  const elect = (owner: string, electionClock: FakeClock = clock, changes: boolean[] = []): LeaderElection => {
    const election = createLeaderElection({
      database,
      clock: electionClock,
      logger: quietLogger(),
      owner,
      leaseMs: LEASE_MS,
      onChange: (leader) => changes.push(leader),
    });
    elections.push(election);
    return election;
  };

  const advance = async (ms: number, which: LeaderElection[], on: FakeClock = clock) => {
    on.advance(ms);
    for (const e of which) await e.settled();
  };

  beforeEach(async () => {
    database = await openJobsDatabase(dialect);
    clock = new FakeClock('2026-03-01T00:00:00Z');
  });

  afterEach(async () => {
    await Promise.all(elections.splice(0).map((e) => e.stop()));
    await database.destroy();
  });

  it('elects exactly one leader and keeps it while it is alive', async () => {
    const changesA: boolean[] = [];
    const a = elect('a', clock, changesA);
    const b = elect('b');
    await a.start();
    await b.start();
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    for (let i = 0; i < 6; i++) await advance(LEASE_MS / 3, [a, b]);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    expect(changesA).toEqual([true]);
  });

  it('hands over within a retry period after the leader stops', async () => {
    const a = elect('a');
    const changesB: boolean[] = [];
    const b = elect('b', clock, changesB);
    await a.start();
    await b.start();
    await a.stop();
    expect(a.isLeader()).toBe(false);
    await advance(LEASE_MS / 3, [b]);
    expect(b.isLeader()).toBe(true);
    expect(changesB).toEqual([true]);
    await a.stop();
  });

  if (dialect === 'sqlite') {
    it('takes over once a frozen leader lets its lease expire, and the old leader steps down', async () => {
      // A's clock stands still: the process is paused (GC, SIGSTOP) and renews nothing.
      const frozen = new FakeClock(clock.now());
      const changesA: boolean[] = [];
      const a = elect('a', frozen, changesA);
      const b = elect('b');
      await a.start();
      await b.start();
      await advance(LEASE_MS - 1, [b]);
      expect(b.isLeader()).toBe(false);
      await advance(LEASE_MS / 3, [b]);
      expect(b.isLeader()).toBe(true);

      // When A resumes, its lease has lapsed by its own clock and its renewal finds B's row.
      frozen.set(clock.now());
      expect(a.isLeader()).toBe(false);
      await advance(LEASE_MS / 3, [a], frozen);
      expect(changesA).toEqual([true, false]);
      expect(b.isLeader()).toBe(true);
    });
  }

  if (dialect === 'postgres') {
    it('steps down at once when its session dies, and a follower takes the lock', async () => {
      const changesA: boolean[] = [];
      const a = elect('a', clock, changesA);
      const b = elect('b');
      await a.start();
      await b.start();
      expect(a.isLeader()).toBe(true);

      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [
          'opsdeck-leader:a',
        ]);
        expect(killed.rowCount).toBe(1);
      } finally {
        await admin.end();
      }
      await within(
        new Promise<void>((resolve) => {
          const check = () => (a.isLeader() ? setImmediate(check) : resolve());
          check();
        }),
        5000,
        'A to notice its session is gone',
      );
      expect(changesA).toEqual([true, false]);
      await advance(LEASE_MS / 3, [a, b]);
      expect(b.isLeader()).toBe(true);
      // A reconnects and stays a follower.
      await advance(LEASE_MS / 3, [a, b]);
      expect(a.isLeader()).toBe(false);
    });
  }
});
