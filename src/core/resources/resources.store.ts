import type { Executor } from '../db/database.js';
import { API_VERSION, type ResourceDocument, type ResourceVersion, type StoredResource } from './resources.js';
import type { ResourcesTable } from './resources.tables.js';

/** How many versions of one resource are kept; older ones are pruned in the writing transaction. */
export const VERSIONS_KEPT = 100;

function toStored(row: ResourcesTable): StoredResource {
  const labels = JSON.parse(row.labels) as Record<string, string>;
  const annotations = JSON.parse(row.annotations) as Record<string, string>;
  return {
    apiVersion: API_VERSION,
    kind: row.kind,
    metadata: {
      name: row.name,
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    generation: Number(row.generation),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    updatedBy: row.updated_by,
  };
}

/** The document part of a stored resource, as recorded in its versions. */
export function documentOf(resource: ResourceDocument): ResourceDocument {
  return { apiVersion: API_VERSION, kind: resource.kind, metadata: resource.metadata, spec: resource.spec };
}

export async function findResource(db: Executor, kind: string, name: string): Promise<StoredResource | undefined> {
  const row = await db.selectFrom('resources').selectAll().where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
  return row ? toStored(row) : undefined;
}

export async function listResources(db: Executor, kind: string): Promise<StoredResource[]> {
  const rows = await db.selectFrom('resources').selectAll().where('kind', '=', kind).orderBy('name').execute();
  return rows.map(toStored);
}

/** Inserts or replaces the current row of a resource. */
export async function writeResource(db: Executor, resource: StoredResource, exists: boolean): Promise<void> {
  const values = {
    labels: JSON.stringify(resource.metadata.labels ?? {}),
    annotations: JSON.stringify(resource.metadata.annotations ?? {}),
    spec: JSON.stringify(resource.spec),
    generation: resource.generation,
    updated_at: resource.updatedAt,
    updated_by: resource.updatedBy,
  };
  if (exists) {
    await db.updateTable('resources').set(values).where('kind', '=', resource.kind).where('name', '=', resource.metadata.name).execute();
  } else {
    await db
      .insertInto('resources')
      .values({ kind: resource.kind, name: resource.metadata.name, created_at: resource.createdAt, ...values })
      .execute();
  }
}

export async function removeResource(db: Executor, kind: string, name: string): Promise<void> {
  await db.deleteFrom('resources').where('kind', '=', kind).where('name', '=', name).execute();
}

/** The highest generation ever recorded, so a resource re-created after deletion continues its history. */
export async function lastGeneration(db: Executor, kind: string, name: string): Promise<number> {
  const row = await db
    .selectFrom('resource_versions')
    .select((eb) => eb.fn.max('generation').as('generation'))
    .where('kind', '=', kind)
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.generation == null ? 0 : Number(row.generation);
}

/** Appends a version and prunes all but the newest {@link VERSIONS_KEPT}; generations are contiguous per resource. */
export async function recordVersion(db: Executor, version: ResourceVersion): Promise<void> {
  await db
    .insertInto('resource_versions')
    .values({
      kind: version.kind,
      name: version.name,
      generation: version.generation,
      action: version.action,
      document: JSON.stringify(version.document),
      applied_by: version.appliedBy,
      applied_at: version.appliedAt,
    })
    .execute();
  await db
    .deleteFrom('resource_versions')
    .where('kind', '=', version.kind)
    .where('name', '=', version.name)
    .where('generation', '<=', version.generation - VERSIONS_KEPT)
    .execute();
}

/** Versions newest first. */
export async function listVersions(db: Executor, kind: string, name: string): Promise<ResourceVersion[]> {
  const rows = await db
    .selectFrom('resource_versions')
    .selectAll()
    .where('kind', '=', kind)
    .where('name', '=', name)
    .orderBy('generation', 'desc')
    .execute();
  return rows.map((row) => ({
    kind: row.kind,
    name: row.name,
    generation: Number(row.generation),
    action: row.action,
    document: JSON.parse(row.document) as ResourceDocument,
    appliedBy: row.applied_by,
    appliedAt: Number(row.applied_at),
  }));
}
