import type { Audit } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import { type Database, type Executor, transaction } from '../db/database.js';
import { lockForTransaction } from '../db/locks.js';
import { conflict, notFound } from '../errors.js';
import type { Events } from '../events/events.js';
import type { Logger } from '../logger.js';
import { createKindRegistry, type KindRegistry } from './kinds.js';
import { planBatch } from './plan.js';
import { unifiedDiff } from './render.js';
import type { ApplyResult, KindDefinition, ResourceRef, Resources, StoredResource } from './resources.js';
import {
  documentOf,
  findResource,
  lastGeneration,
  listResources,
  listVersions,
  recordVersion,
  removeResource,
  writeResource,
} from './resources.store.js';

export interface ResourcesOptions {
  database: Database;
  events: Events;
  audit: Audit;
  clock: Clock;
  logger: Logger;
}

/** Every write to resources takes this lock, so generations and reference checks never race across replicas. */
const LOCK = 'resources';

/**
 * The declarative resource registry and apply engine. Kinds are registered by modules during
 * setup; `apply` validates a whole batch (all issues at once) and then writes it in one
 * transaction together with its versions, domain events and audit records.
 *
 * A kind's `validate` must read other resources only through the `lookup` it is given, and
 * `onApply`/`onDelete` only through `tx`: on SQLite a second connection would wait for the
 * open transaction forever.
 */
export function createResources(options: ResourcesOptions): Resources {
  const { database, events, audit, clock } = options;
  const logger = options.logger.child({ module: 'resources' });
  const db = database.db;
  const registry: KindRegistry = createKindRegistry();

  async function referrers(tx: Executor, kind: string, name: string): Promise<(ResourceRef & { from: string })[]> {
    const found: (ResourceRef & { from: string })[] = [];
    for (const { definition } of registry.all()) {
      if (!definition.refs) continue;
      for (const resource of await listResources(tx, definition.kind)) {
        for (const ref of definition.refs(resource.spec)) {
          if (ref.kind === kind && ref.name === name && !(resource.kind === kind && resource.metadata.name === name)) {
            found.push({ ...ref, from: `${resource.kind}/${resource.metadata.name}` });
          }
        }
      }
    }
    return found;
  }

  const resources: Resources = {
    register(definition) {
      // Spec is per-kind; the registry stores every kind behind the untyped record view.
      registry.register(definition as unknown as KindDefinition);
    },

    extend(kind, section, schema, owner, hooks) {
      registry.extend(kind, section, schema, owner, hooks);
    },

    kinds: () => registry.all().map((k) => k.definition),

    async apply(input, actor) {
      const results = await transaction(db, async (tx) => {
        await lockForTransaction(tx, database, LOCK);
        const plan = await planBatch({ db: tx, registry, input });
        const now = clock.now();
        const out: ApplyResult[] = [];
        for (const { definition, doc, source, current, action } of plan) {
          const base = { kind: doc.kind, name: doc.metadata.name, file: source.file, document: source.document };
          if (action === 'unchanged') {
            out.push({ ...base, action, generation: current!.generation });
            continue;
          }
          // A name deleted and created again continues its numbering, so history stays one sequence.
          const generation = current ? current.generation + 1 : (await lastGeneration(tx, doc.kind, doc.metadata.name)) + 1;
          const stored: StoredResource = {
            ...doc,
            generation,
            createdAt: current?.createdAt ?? now,
            updatedAt: now,
            updatedBy: actor.name,
          };
          await writeResource(tx, stored, current !== undefined);
          await recordVersion(tx, { ...base, generation, action, document: documentOf(stored), appliedBy: actor.name, appliedAt: now });
          await events.publish(tx, {
            type: `resources.${doc.kind.toLowerCase()}.applied`,
            actor: actor.name,
            service: definition.service?.(doc) ?? null,
            subject: `${doc.kind}/${doc.metadata.name}`,
            change: true,
            data: { kind: doc.kind, name: doc.metadata.name, generation, action },
          });
          await audit.record(tx, {
            actor,
            action: 'resources.apply',
            target: `${doc.kind}/${doc.metadata.name}`,
            change: { generation, action, spec: doc.spec },
          });
          await definition.onApply?.(tx, stored, current);
          out.push({ ...base, action, generation });
        }
        return out;
      });
      const changed = results.filter((r) => r.action !== 'unchanged');
      if (changed.length > 0) {
        logger.info(
          { actor: actor.name, changed: changed.map((r) => `${r.kind}/${r.name}@${r.generation} ${r.action}`) },
          'resources applied',
        );
      }
      return results;
    },

    async diff(input) {
      const plan = await planBatch({ db, registry, input });
      return plan.map(({ doc, source, current, action }) => ({
        kind: doc.kind,
        name: doc.metadata.name,
        action,
        diff: action === 'unchanged' ? '' : unifiedDiff(current, doc),
        file: source.file,
        document: source.document,
      }));
    },

    async get<Spec>(kind: string, name: string, tx?: Executor) {
      const { definition } = registry.resolve(kind);
      return (await findResource(tx ?? db, definition.kind, name)) as StoredResource<Spec> | undefined;
    },

    async list<Spec>(kind: string, filter?: { labels?: Record<string, string> }, tx?: Executor) {
      const { definition } = registry.resolve(kind);
      const all = await listResources(tx ?? db, definition.kind);
      const wanted = Object.entries(filter?.labels ?? {});
      // Label selectors are evaluated here: JSON operators differ per engine and catalogs are small.
      const matching = all.filter((r) => wanted.every(([k, v]) => r.metadata.labels?.[k] === v));
      return matching as StoredResource<Spec>[];
    },

    async delete(kindName, name, actor) {
      const { definition } = registry.resolve(kindName);
      const kind = definition.kind;
      const deleted = await transaction(db, async (tx) => {
        await lockForTransaction(tx, database, LOCK);
        const current = await findResource(tx, kind, name);
        if (!current) throw notFound(`${kind} '${name}' does not exist`, { kind, name });
        const users = await referrers(tx, kind, name);
        if (users.length > 0) {
          const list = users.map((u) => `${u.from} (${u.pointer})`).join(', ');
          throw conflict(`${kind} '${name}' is still referenced by ${list}`, {
            kind,
            name,
            referrers: users.map((u) => ({ resource: u.from, pointer: u.pointer })),
          });
        }
        const now = clock.now();
        const generation = current.generation + 1;
        await removeResource(tx, kind, name);
        await recordVersion(tx, {
          kind,
          name,
          generation,
          action: 'deleted',
          document: documentOf(current),
          appliedBy: actor.name,
          appliedAt: now,
        });
        await events.publish(tx, {
          type: `resources.${kind.toLowerCase()}.deleted`,
          actor: actor.name,
          service: definition.service?.(current) ?? null,
          subject: `${kind}/${name}`,
          change: true,
          data: { kind, name, generation, action: 'deleted' },
        });
        await audit.record(tx, { actor, action: 'resources.delete', target: `${kind}/${name}`, change: { generation, action: 'deleted' } });
        await definition.onDelete?.(tx, current);
        return current;
      });
      logger.info({ actor: actor.name, kind, name }, 'resource deleted');
      return deleted;
    },

    async history(kindName, name) {
      const { definition } = registry.resolve(kindName);
      const versions = await listVersions(db, definition.kind, name);
      if (versions.length === 0)
        throw notFound(`${definition.kind} '${name}' has no history: it never existed`, { kind: definition.kind, name });
      return versions;
    },
  };
  return resources;
}
