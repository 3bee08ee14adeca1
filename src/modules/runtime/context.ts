import type { Actor } from '../../core/auth/roles.js';
import type { Executor } from '../../core/db/database.js';
import { conflict, notFound } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Core } from '../../core/module.js';
import type { CatalogApi, CatalogService } from '../catalog/index.js';
import { bumpRevision, lockRuntime, type Release } from './runtime.store.js';
import { type RuntimeService, runtimeOf } from './spec.js';

/** What the runtime's behaviour needs: the kernel, the catalog's narrow API, and where relative paths resolve. */
export interface RuntimeContext {
  core: Core;
  catalog: CatalogApi;
  /** The server's working directory: relative `cwd`/`artifact` paths resolve against it. */
  cwd: string;
  logger: Logger;
  /**
   * Each agent's token as last presented on its reports, kept in memory only: the control plane
   * authenticates to the agent's own API (logs) with it. Never stored.
   */
  agentTokens: Map<string, string>;
}

/** Topic of the event agents (and the console) watch to refetch desired state. */
export const DESIRED_CHANGED = 'runtime.desired.changed';

export interface ChangeRecord {
  actor: Actor | null;
  /** Domain event type, e.g. `runtime.weights.changed`; also the audit action. */
  type: string;
  service: string;
  subject?: string;
  data: Record<string, unknown>;
  /** Audited unless false (agent-reported happenings are facts, not mutations). */
  audit?: boolean;
}

/** A runtime transaction: holds the runtime lock; records changes; bumps the revision once at the end if asked. */
export interface RuntimeTx {
  tx: Executor;
  now: number;
  record(change: ChangeRecord): Promise<void>;
  /** Desired state changed: bump the revision when the transaction's work is done. */
  changed(): void;
}

/** Runs `fn` inside `tx` (e.g. a subscriber's) with the runtime lock taken first. */
export async function runIn<T>(ctx: RuntimeContext, tx: Executor, fn: (rt: RuntimeTx) => Promise<T>): Promise<T> {
  const { core } = ctx;
  await lockRuntime(tx, core.database.dialect);
  let bump = false;
  const rt: RuntimeTx = {
    tx,
    now: core.clock.now(),
    async record(change) {
      await core.events.publish(tx, {
        type: change.type,
        actor: change.actor?.name ?? null,
        service: change.service,
        subject: change.subject ?? `Service/${change.service}`,
        change: true,
        data: change.data,
      });
      if (change.audit !== false && change.actor) {
        await core.audit.record(tx, {
          actor: change.actor,
          action: change.type,
          target: change.subject ?? `Service/${change.service}`,
          change: change.data,
        });
      }
    },
    changed() {
      bump = true;
    },
  };
  const result = await fn(rt);
  if (bump) {
    const revision = await bumpRevision(tx, rt.now);
    await core.events.publish(tx, { type: DESIRED_CHANGED, data: { revision } });
  }
  return result;
}

/** Runs `fn` in a new transaction; see runIn. */
export function transact<T>(ctx: RuntimeContext, fn: (rt: RuntimeTx) => Promise<T>): Promise<T> {
  return ctx.core.db.transaction().execute((tx) => runIn(ctx, tx, fn));
}

/** The Service; 404 naming it when it does not exist. */
export async function requireService(ctx: RuntimeContext, name: string, tx?: Executor): Promise<CatalogService> {
  const doc = await ctx.catalog.getService(name, tx);
  if (!doc) throw notFound(`Service '${name}' does not exist`, { service: name });
  return doc;
}

/** The Service and its runtime section; 404 when the service does not exist, 409 when it has no runtime section. */
export async function runtimeService(ctx: RuntimeContext, name: string, tx?: Executor): Promise<RuntimeService> {
  const service = runtimeOf(await requireService(ctx, name, tx));
  if (!service) {
    throw conflict(`Service '${name}' has no runtime section: add spec.runtime and apply it`, { service: name });
  }
  return service;
}

/** The release of `version`, or a 404 naming the versions there are. */
export function findRelease(service: string, version: string, releases: Release[]): Release {
  const found = releases.find((r) => r.version === version);
  if (found) return found;
  const known = releases.map((r) => r.version);
  throw notFound(`Service '${service}' has no version '${version}'; known versions: ${known.join(', ') || 'none'}`, {
    service,
    version,
    knownVersions: known,
  });
}
