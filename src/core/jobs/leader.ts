import pg from 'pg';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { lockName } from '../db/locks.js';
import type { Logger } from '../logger.js';

/** Which replica runs `global` recurring tasks. */
export interface LeaderElection {
  /** Makes the first attempt (so isLeader() is meaningful once it resolves), then keeps trying. */
  start(): Promise<void>;
  /** Gives up leadership and stops trying. Idempotent. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Resolves once no election round is in flight; tests on a fake clock await it after advancing. */
  settled(): Promise<void>;
}

export interface LeaderElectionOptions {
  database: Database;
  clock: Clock;
  logger: Logger;
  owner: string;
  /** Followers retry, and the leader checks its hold, every leaseMs/3. */
  leaseMs: number;
  onChange(leader: boolean): void;
}

/** PostgreSQL: a session advisory lock; SQLite: a lease row. */
export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
  return options.database.dialect === 'postgres' ? new AdvisoryLockElection(options) : new LeaseRowElection(options);
}

abstract class PeriodicElection implements LeaderElection {
  protected leader = false;
  protected stopped = false;
  private cancelTimer?: () => void;
  private round: Promise<void> = Promise.resolve();
  private stopping?: Promise<void>;

  constructor(protected readonly options: LeaderElectionOptions) {}

  protected abstract attempt(): Promise<void>;
  protected abstract resign(): Promise<void>;

  async start(): Promise<void> {
    this.round = this.runRound();
    await this.round;
  }

  isLeader(): boolean {
    return this.leader && !this.stopped;
  }

  settled(): Promise<void> {
    return this.round;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.round.catch(() => {});
    try {
      await this.resign();
    } catch (err) {
      this.options.logger.warn({ err }, 'releasing leadership failed; it lapses on its own');
    }
    this.setLeader(false);
  }

  protected setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.options.logger.info({ owner: this.options.owner }, leader ? 'became leader' : 'no longer leader');
    this.options.onChange(leader);
  }

  private async runRound(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.attempt();
    } catch (err) {
      this.options.logger.warn({ err }, 'leader election round failed');
      this.onRoundError();
    } finally {
      this.scheduleRound();
    }
  }

  /** A round that errors cannot prove the hold, so the default is to step down. */
  protected onRoundError(): void {
    this.setLeader(false);
  }

  private scheduleRound(): void {
    if (this.stopped) return;
    this.cancelTimer = this.options.clock.setTimer(Math.max(1, Math.floor(this.options.leaseMs / 3)), () => {
      this.round = this.runRound();
    });
  }
}

/**
 * Holds `pg_try_advisory_lock` on a dedicated session. When the session dies — including a
 * kill -9 of this process, whose socket the OS closes — PostgreSQL releases the lock and a
 * follower's next try wins.
 */
class AdvisoryLockElection extends PeriodicElection {
  private client?: pg.Client;
  private readonly key: string;

  constructor(options: LeaderElectionOptions) {
    super(options);
    this.key = lockName(options.database, 'leader');
  }

  protected async attempt(): Promise<void> {
    const client = await this.connect();
    if (this.leader) {
      // A query that fails or times out means the session, and so the lock, may be gone.
      await client.query('select 1');
      return;
    }
    const result = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [this.key]);
    if (this.stopped) return;
    if (result.rows[0]?.ok) this.setLeader(true);
  }

  protected override onRoundError(): void {
    this.drop(this.client);
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const config = this.options.database.pgConfig;
    if (!config) throw new Error('PostgreSQL leader election needs database.pgConfig');
    const timeout = Math.max(1000, Math.floor(this.options.leaseMs / 3));
    const client = new pg.Client({
      ...config,
      keepAlive: true,
      query_timeout: timeout,
      connectionTimeoutMillis: timeout,
      // Lets an operator see (or terminate) which session holds leadership.
      application_name: `opsdeck-leader:${this.options.owner}`.slice(0, 63),
    });
    client.on('error', (err) => {
      this.options.logger.warn({ err }, 'leader session failed');
      this.drop(client);
    });
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
    } catch (err) {
      client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  /** Forgets a broken session and steps down at once: the lock went with it. */
  private drop(client: pg.Client | undefined): void {
    if (!client || client !== this.client) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.setLeader(false);
  }

  protected async resign(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      if (this.leader) await client.query('select pg_advisory_unlock(hashtext($1))', [this.key]);
    } finally {
      // Closing the session would release the lock anyway; unlocking first just makes it explicit.
      await client.end().catch(() => {});
    }
  }
}

/**
 * A row `(name, owner, expires_at)` renewed every lease/3 and taken over once expired. The
 * leader trusts itself only until its own expiry, so a paused process stops acting as leader
 * by the time another can take over.
 */
class LeaseRowElection extends PeriodicElection {
  private expiresAt = 0;
  private readonly name = 'leader';

  override isLeader(): boolean {
    return super.isLeader() && this.options.clock.now() < this.expiresAt;
  }

  protected async attempt(): Promise<void> {
    const { clock, owner, leaseMs, database } = this.options;
    const now = clock.now();
    const row = await database.db
      .insertInto('leader_leases')
      .values({ name: this.name, owner, expires_at: now + leaseMs })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet((eb) => ({ owner: eb.ref('excluded.owner'), expires_at: eb.ref('excluded.expires_at') }))
          .where((eb) => eb.or([eb('leader_leases.owner', '=', owner), eb('leader_leases.expires_at', '<=', now)])),
      )
      .returning('owner')
      .executeTakeFirst();
    if (this.stopped) return;
    if (row) this.expiresAt = now + leaseMs;
    this.setLeader(row !== undefined);
  }

  protected async resign(): Promise<void> {
    await this.options.database.db
      .deleteFrom('leader_leases')
      .where('name', '=', this.name)
      .where('owner', '=', this.options.owner)
      .execute();
  }
}
