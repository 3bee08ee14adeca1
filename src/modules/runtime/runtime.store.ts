import type { Selectable } from 'kysely';
import type { DialectName, Executor } from '../../core/db/database.js';
import type { Overrides } from './runtime.schema.js';
import type {
  ReleaseState,
  RuntimeActionsTable,
  RuntimeFaultsTable,
  RuntimeReleasesTable,
  RuntimeServicesTable,
} from './runtime.tables.js';

// SQL for the runtime's control tables (revision, services, releases, assignments, faults,
// actions). Agent reports have their own store (agents.store.ts).

export interface Release {
  service: string;
  version: string;
  overrides: Overrides;
  createdAt: number;
  createdBy: string;
  state: ReleaseState;
  failedReason: string | null;
  failedAt: number | null;
}

export interface Assignment {
  service: string;
  version: string;
  /** Tenths of a percent. */
  weight: number;
  instances: number;
}

export type FaultRow = Selectable<RuntimeFaultsTable>;
export type ActionRow = Selectable<RuntimeActionsTable>;
export type ServiceState = Selectable<RuntimeServicesTable>;

/**
 * Serialises the runtime's writers until the transaction ends, so read-check-write sequences
 * (weights sum, scale guards, revision bumps) never interleave across replicas. Every runtime
 * transaction takes it first, before the outbox and audit locks, so the order is always the same.
 * SQLite has one writer already.
 */
export async function lockRuntime(tx: Executor, dialect: DialectName): Promise<void> {
  if (dialect !== 'postgres') return;
  await tx.selectFrom('runtime_revision').select('revision').where('id', '=', 1).forUpdate().execute();
}

export async function getRevision(ex: Executor): Promise<number> {
  const row = await ex.selectFrom('runtime_revision').select('revision').where('id', '=', 1).executeTakeFirstOrThrow();
  return Number(row.revision);
}

/**
 * The next revision: one more than the last, but never less than the clock, so an agent that
 * cached a revision from an earlier store (a reinstalled control plane) still sees newer ones.
 */
export async function bumpRevision(tx: Executor, now: number): Promise<number> {
  const revision = Math.max((await getRevision(tx)) + 1, now);
  await tx.updateTable('runtime_revision').set({ revision, updated_at: now }).where('id', '=', 1).execute();
  return revision;
}

// --- services -------------------------------------------------------------------------------

export function getServiceState(ex: Executor, service: string): Promise<ServiceState | undefined> {
  return ex.selectFrom('runtime_services').selectAll().where('service', '=', service).executeTakeFirst();
}

export function listServiceStates(ex: Executor): Promise<ServiceState[]> {
  return ex.selectFrom('runtime_services').selectAll().execute();
}

export async function putServiceState(ex: Executor, row: ServiceState): Promise<void> {
  const { service, ...rest } = row;
  await ex
    .insertInto('runtime_services')
    .values(row)
    .onConflict((oc) => oc.column('service').doUpdateSet(rest))
    .execute();
}

export async function deleteServiceState(ex: Executor, service: string): Promise<void> {
  await ex.deleteFrom('runtime_services').where('service', '=', service).execute();
}

// --- releases -------------------------------------------------------------------------------

const toRelease = (row: Selectable<RuntimeReleasesTable>): Release => ({
  service: row.service,
  version: row.version,
  overrides: JSON.parse(row.overrides) as Overrides,
  createdAt: Number(row.created_at),
  createdBy: row.created_by,
  state: row.state,
  failedReason: row.failed_reason,
  failedAt: row.failed_at === null ? null : Number(row.failed_at),
});

/** Oldest first. */
export async function listReleases(ex: Executor, service?: string): Promise<Release[]> {
  let q = ex.selectFrom('runtime_releases').selectAll();
  if (service !== undefined) q = q.where('service', '=', service);
  const rows = await q.orderBy('service').orderBy('created_at').orderBy('version').execute();
  return rows.map(toRelease);
}

export async function insertRelease(ex: Executor, release: Release): Promise<void> {
  await ex
    .insertInto('runtime_releases')
    .values({
      service: release.service,
      version: release.version,
      overrides: JSON.stringify(release.overrides),
      created_at: release.createdAt,
      created_by: release.createdBy,
      state: release.state,
      failed_reason: release.failedReason,
      failed_at: release.failedAt,
    })
    .execute();
}

export async function markReleaseFailed(ex: Executor, key: { service: string; version: string }, reason: string, at: number) {
  const result = await ex
    .updateTable('runtime_releases')
    .set({ failed_reason: reason, failed_at: at })
    .where('service', '=', key.service)
    .where('version', '=', key.version)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function setReleaseState(ex: Executor, key: { service: string; version: string }, state: ReleaseState): Promise<void> {
  await ex.updateTable('runtime_releases').set({ state }).where('service', '=', key.service).where('version', '=', key.version).execute();
}

// --- assignments ----------------------------------------------------------------------------

export async function listAssignments(ex: Executor, service?: string): Promise<Assignment[]> {
  let q = ex.selectFrom('runtime_assignments').select(['service', 'version', 'weight', 'instances']);
  if (service !== undefined) q = q.where('service', '=', service);
  return q.orderBy('service').orderBy('version').execute();
}

export async function putAssignment(ex: Executor, a: Assignment, by: string, now: number): Promise<void> {
  await ex
    .insertInto('runtime_assignments')
    .values({ ...a, updated_at: now, updated_by: by })
    .onConflict((oc) =>
      oc.columns(['service', 'version']).doUpdateSet({ weight: a.weight, instances: a.instances, updated_at: now, updated_by: by }),
    )
    .execute();
}

// --- faults ---------------------------------------------------------------------------------

export async function insertFault(ex: Executor, fault: FaultRow): Promise<void> {
  await ex.insertInto('runtime_faults').values(fault).execute();
}

/** Faults not yet expired at `now`, optionally of one service, oldest first. */
export function activeFaults(ex: Executor, now: number, service?: string): Promise<FaultRow[]> {
  let q = ex.selectFrom('runtime_faults').selectAll().where('expires_at', '>', now);
  if (service !== undefined) q = q.where('service', '=', service);
  return q.orderBy('created_at').orderBy('id').execute();
}

export function getFault(ex: Executor, id: string): Promise<FaultRow | undefined> {
  return ex.selectFrom('runtime_faults').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function deleteFaults(ex: Executor, ids: string[]): Promise<void> {
  if (ids.length) await ex.deleteFrom('runtime_faults').where('id', 'in', ids).execute();
}

// --- actions --------------------------------------------------------------------------------

export async function insertAction(ex: Executor, action: ActionRow): Promise<void> {
  await ex.insertInto('runtime_actions').values(action).execute();
}

/** Actions no agent has reported done and that have not expired. */
export function pendingActions(ex: Executor, now: number): Promise<ActionRow[]> {
  return ex
    .selectFrom('runtime_actions')
    .selectAll()
    .where('done_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Marks pending actions done; returns how many were still pending. */
export async function markActionsDone(ex: Executor, ids: string[], agentId: string, now: number): Promise<number> {
  if (!ids.length) return 0;
  const result = await ex
    .updateTable('runtime_actions')
    .set({ done_at: now, done_by: agentId })
    .where('id', 'in', ids)
    .where('done_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

// --- removal --------------------------------------------------------------------------------

/** Forgets everything the runtime holds for a deleted service; returns whether there was anything. */
export async function purgeService(ex: Executor, service: string): Promise<boolean> {
  let removed = 0;
  for (const table of ['runtime_services', 'runtime_releases', 'runtime_assignments', 'runtime_faults', 'runtime_actions'] as const) {
    const result = await ex.deleteFrom(table).where('service', '=', service).executeTakeFirst();
    removed += Number(result.numDeletedRows);
  }
  return removed > 0;
}

/** Drops finished and expired actions older than `before`. */
export async function pruneActions(ex: Executor, before: number): Promise<void> {
  await ex
    .deleteFrom('runtime_actions')
    .where((eb) => eb.or([eb('done_at', '<', before), eb.and([eb('done_at', 'is', null), eb('expires_at', '<', before)])]))
    .execute();
}
