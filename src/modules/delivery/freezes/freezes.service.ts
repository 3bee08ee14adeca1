import { type Actor, systemActor } from '../../../core/auth/roles.js';
import type { Executor } from '../../../core/db/database.js';
import type { StoredResource } from '../../../core/resources/resources.js';
import type { ActiveFreeze, DeliveryContext, FreezeService } from '../contracts.js';
import type { FreezeSpec, FreezeView } from './freezes.schema.js';
import {
  type ApiFreezeRow,
  activeApiFreezes,
  announcedServices,
  getApiFreeze,
  markLifted,
  putAnnounced,
  putApiFreeze,
} from './freezes.store.js';
import { anyActive, type FreezeWindow, frozenUntil, HORIZON_MS, nextCheck, occurrences, windowActive } from './windows.js';

export const FREEZE_STARTED = 'delivery.freeze.started';
export const FREEZE_LIFTED = 'delivery.freeze.lifted';
export const FREEZE_UPDATED = 'delivery.freeze.updated';
/** Durable timer per Freeze resource: announces its windows starting and ending. */
export const WINDOW_JOB = 'delivery.freeze-window';

/** What the freezes part offers besides the FreezeService contract (routes use it). */
export interface Freezes extends FreezeService {
  /** Every freeze in force at `at` (with `service`: those that apply to it). */
  list(at: number, service?: string, tx?: Executor): Promise<FreezeView[]>;
  /** Lifts an API freeze; false when no freeze with this key is in force. */
  liftIfActive(key: string, actor: Actor, tx?: Executor): Promise<boolean>;
  /** Freezes (or re-freezes) through the API; returns whether a new freeze started. */
  set(input: { key: string; service: string; reason: string; actor: Actor }, tx?: Executor): Promise<boolean>;
  getApi(key: string): Promise<ApiFreezeRow | undefined>;
  /** Re-evaluates a Freeze resource's windows, announces changes, and arms the next check. */
  syncWindows(tx: Executor, name: string): Promise<void>;
}

const covers = (services: string[], service: string) => services.includes('*') || services.includes(service);
const windowsOf = (doc: StoredResource<FreezeSpec>) => doc.spec.windows as FreezeWindow[];

/** A Freeze resource as a view at `at`, or undefined when none of its windows is in force. */
export function resourceFreezeView(doc: StoredResource<FreezeSpec>, at: number): FreezeView | undefined {
  const windows = windowsOf(doc);
  if (!anyActive(windows, at)) return undefined;
  let since: number | null = null;
  for (const w of windows) {
    if (!windowActive(w, at)) continue;
    for (const o of occurrences(w, at - HORIZON_MS, at)) {
      if (o.start <= at && at < o.end && (since === null || o.start < since)) since = o.start;
    }
  }
  return {
    name: doc.metadata.name,
    source: 'resource',
    services: doc.spec.services,
    reason: doc.spec.reason,
    since,
    until: frozenUntil(windows, at),
    createdBy: doc.updatedBy,
  };
}

const apiView = (row: ApiFreezeRow): FreezeView => ({
  name: row.key,
  source: 'api',
  services: [row.service],
  reason: row.reason,
  since: row.created_at,
  until: null,
  createdBy: row.created_by,
});

export function createFreezes(ctx: DeliveryContext): Freezes {
  const { core } = ctx;
  const inTx = <T>(tx: Executor | undefined, fn: (ex: Executor) => Promise<T>): Promise<T> =>
    tx ? fn(tx) : core.db.transaction().execute((t) => fn(t));

  const publish = (tx: Executor, type: string, input: { service: string; subject: string; actor: Actor; data: Record<string, unknown> }) =>
    core.events.publish(tx, {
      type,
      actor: input.actor.name,
      // '*' concerns every service: no single service on the timeline; data.service says '*'.
      service: input.service === '*' ? null : input.service,
      subject: input.subject,
      change: true,
      data: { ...input.data, service: input.service },
    });

  async function list(at: number, service?: string, tx?: Executor): Promise<FreezeView[]> {
    const ex = tx ?? core.db;
    const docs = await core.resources.list<FreezeSpec>('Freeze', undefined, tx);
    const out: FreezeView[] = [];
    for (const doc of docs) {
      if (service !== undefined && !covers(doc.spec.services, service)) continue;
      const view = resourceFreezeView(doc, at);
      if (view) out.push(view);
    }
    for (const row of await activeApiFreezes(ex, service)) out.push(apiView(row));
    return out;
  }

  async function set(input: { key: string; service: string; reason: string; actor: Actor }, tx?: Executor): Promise<boolean> {
    return inTx(tx, async (ex) => {
      const now = core.clock.now();
      const existing = await getApiFreeze(ex, input.key);
      const active = existing !== undefined && existing.lifted_at === null;
      if (active && existing.service === input.service && existing.reason === input.reason) return false;
      await putApiFreeze(ex, {
        key: input.key,
        service: input.service,
        reason: input.reason,
        created_at: active ? existing.created_at : now,
        created_by: active ? existing.created_by : input.actor.name,
        lifted_at: null,
        lifted_by: null,
      });
      const subject = `freeze/${input.key}`;
      const change = { key: input.key, service: input.service, reason: input.reason, source: 'api' };
      if (active && existing.service !== input.service) {
        await publish(ex, FREEZE_LIFTED, {
          service: existing.service,
          subject,
          actor: input.actor,
          data: { ...change, service: existing.service },
        });
      }
      const type = active && existing.service === input.service ? FREEZE_UPDATED : FREEZE_STARTED;
      await publish(ex, type, { service: input.service, subject, actor: input.actor, data: change });
      await core.audit.record(ex, { actor: input.actor, action: type, target: subject, change });
      return !active;
    });
  }

  async function liftIfActive(key: string, actor: Actor, tx?: Executor): Promise<boolean> {
    return inTx(tx, async (ex) => {
      const existing = await getApiFreeze(ex, key);
      if (!existing || existing.lifted_at !== null) return false;
      if (!(await markLifted(ex, key, core.clock.now(), actor.name))) return false;
      const subject = `freeze/${key}`;
      const change = { key, service: existing.service, reason: existing.reason, source: 'api' };
      await publish(ex, FREEZE_LIFTED, { service: existing.service, subject, actor, data: change });
      await core.audit.record(ex, { actor, action: FREEZE_LIFTED, target: subject, change });
      return true;
    });
  }

  async function syncWindows(tx: Executor, name: string): Promise<void> {
    const now = core.clock.now();
    const doc = await core.resources.get<FreezeSpec>('Freeze', name, tx);
    const before = await announcedServices(tx, name);
    const view = doc ? resourceFreezeView(doc, now) : undefined;
    const after = view ? view.services : [];
    const subject = `Freeze/${name}`;
    const data = { name, reason: doc?.spec.reason ?? null, source: 'resource', until: view?.until ?? null };
    for (const service of before.filter((s) => !after.includes(s))) {
      await publish(tx, FREEZE_LIFTED, { service, subject, actor: systemActor, data });
    }
    for (const service of after.filter((s) => !before.includes(s))) {
      await publish(tx, FREEZE_STARTED, { service, subject, actor: systemActor, data });
    }
    await putAnnounced(tx, name, after, now);
    const dedupKey = `${WINDOW_JOB}:${name}`;
    const next = doc ? nextCheck(windowsOf(doc), now) : null;
    if (next === null) await core.jobs.cancel(dedupKey, { tx });
    else await core.jobs.schedule(WINDOW_JOB, { name }, { runAt: next, dedupKey, tx });
  }

  return {
    async active(service, at, tx): Promise<ActiveFreeze[]> {
      return (await list(at, service, tx)).map((f) => ({ name: f.name, reason: f.reason, until: f.until }));
    },
    async freeze(input, tx) {
      await set(input, tx);
    },
    async lift(key, actor, tx) {
      await liftIfActive(key, actor, tx);
    },
    list,
    set,
    liftIfActive,
    getApi: (key) => getApiFreeze(core.db, key),
    syncWindows,
  };
}
