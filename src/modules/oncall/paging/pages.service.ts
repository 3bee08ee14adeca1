import type { Executor } from '../../../core/db/database.js';
import { badRequest, conflict, notFound } from '../../../core/errors.js';
import { newId } from '../../../core/ids.js';
import type { Core } from '../../../core/module.js';
import { parseDuration } from '../../../core/resources/formats.js';
import type { CatalogApi } from '../../catalog/index.js';
import type { ChangeSummary, NotificationEvent, NotificationsApi, SchedulesApi } from '../contracts.js';
import {
  DEFAULT_ACK_TIMEOUT,
  ESCALATION_POLICY_KIND,
  type EscalationPolicySpec,
  type ServiceOncallSection,
  type Target,
} from '../escalation/policy.schema.js';
import { resolveStep, workingHoursStart } from '../escalation/targets.js';
import { personalSteps, type UserWithRules } from '../people/notification-rules.js';
import { type ActionLinks, LINK_TTL_MS } from './links.js';
import type { OncallPagesTable } from './paging.tables.js';

export const JOB_ESCALATE = 'oncall.page.escalate';
export const JOB_UNACK = 'oncall.page.unack';
export const PAGE_EVENTS = {
  triggered: 'oncall.page.triggered',
  escalated: 'oncall.page.escalated',
  acknowledged: 'oncall.page.acknowledged',
  retriggered: 'oncall.page.retriggered',
  resolved: 'oncall.page.resolved',
  unrouted: 'oncall.page.unrouted',
} as const;

const escalateKey = (id: string) => `oncall.escalate:${id}`;
const unackKey = (id: string) => `oncall.unack:${id}`;

/** Acknowledging or resolving an alert group from a page (alerting's narrow interface). */
export type GroupAction = (
  tx: Executor,
  input: { id: string; action: 'acknowledge' | 'resolve'; by: string; now: number },
) => Promise<unknown>;

export interface PagingDeps {
  core: Core;
  catalog: CatalogApi;
  schedules: SchedulesApi;
  notifications: NotificationsApi;
  links: ActionLinks;
  actOnGroup?: GroupAction;
}

export interface TriggerInput {
  source: 'alert-group' | 'manual';
  dedupKey?: string;
  groupId?: string;
  service?: string;
  /** An EscalationPolicy name; for manual pages, `user` instead pages one person directly. */
  policy?: string;
  user?: string;
  title: string;
  summary?: string;
  urgency?: 'high' | 'low';
  /** Picks the service's `oncall.bySeverity` policy when it has one for this severity. */
  severity?: string;
  changes?: ChangeSummary[];
  by: string;
}

type Page = OncallPagesTable;

/**
 * The paging lifecycle: triggered → acknowledged → resolved. Each escalation step is a durable job
 * keyed by the page, so a restart continues on time and a repeated job is a no-op (it must find the
 * page at the step before the one it runs). Every delivery's idempotency key names the page, trigger
 * cycle, round, step, user and personal rule: nobody gets the same notification twice.
 */
export function createPaging(deps: PagingDeps) {
  const { core } = deps;

  const policyOf = async (tx: Executor, name: string | null) =>
    name ? (await core.resources.get<EscalationPolicySpec>(ESCALATION_POLICY_KIND, name, tx))?.spec : undefined;

  /** Entries of one millisecond keep their order by a per-page sequence number in the id. */
  const log = async (tx: Executor, page: Page, type: string, actor: string | null, data: Record<string, unknown>, at: number) => {
    const { n } = await tx
      .selectFrom('oncall_page_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('page_id', '=', page.id)
      .executeTakeFirstOrThrow();
    const id = `${page.id}:${String(Number(n)).padStart(6, '0')}`;
    await tx
      .insertInto('oncall_page_log')
      .values({ id, page_id: page.id, at, type, actor, data: JSON.stringify(data) })
      .execute();
  };

  const publish = (tx: Executor, type: string, page: Page, actor: string | null, data: Record<string, unknown> = {}) =>
    core.events.publish(tx, {
      type,
      actor,
      service: page.service,
      subject: page.id,
      data: { id: page.id, title: page.title, status: page.status, urgency: page.urgency, groupId: page.group_id, ...data },
    });

  /** Notifies one step of the policy (or the direct user) and arms the next step's timer. */
  async function notifyStep(tx: Executor, page: Page, policy: EscalationPolicySpec | undefined, event: NotificationEvent, now: number) {
    const targets: Target[] = policy ? policy.steps[page.step]!.notify : [{ user: page.direct_user! }];
    const audience = await resolveStep(deps, tx, targets, now);
    const sendAt = page.urgency === 'low' && policy?.workingHours ? workingHoursStart(policy.workingHours, now) : now;
    const changes = JSON.parse(page.changes) as ChangeSummary[];
    const message = {
      event,
      pageId: page.id,
      title: page.title,
      summary: page.summary ?? undefined,
      service: page.service ?? undefined,
      urgency: page.urgency,
      step: page.step + 1,
      round: page.round + 1,
      paged: audience.users,
      changes,
      at: page.triggered_at,
    };
    const keyBase = `${page.id}:${page.cycle}:${page.round}:${page.step}`;
    const linkFor = async (user: string) => {
      const claims = { page: page.id, user, cycle: page.cycle, expires: now + LINK_TTL_MS };
      return {
        ack: await deps.links.url({ ...claims, action: 'ack' }, tx),
        resolve: await deps.links.url({ ...claims, action: 'resolve' }, tx),
        view: `${core.publicUrl()}/api/v1/pages/${page.id}`,
      };
    };
    const reached: string[] = [];
    for (const name of audience.users) {
      const user = (await deps.catalog.getUser(name, tx))?.spec as UserWithRules | undefined;
      const steps = user ? personalSteps(user, page.urgency) : [];
      if (steps.length === 0) {
        audience.empty.push(`user ${name} (no contacts)`);
        continue;
      }
      reached.push(name);
      const links = await linkFor(name);
      for (const step of steps) {
        await deps.notifications.enqueue(tx, {
          idempotencyKey: `${keyBase}:${name}:${step.index}`,
          pageId: page.id,
          user: name,
          contacts: step.chain,
          message: { ...message, links },
          sendAt: sendAt + step.afterMs,
        });
      }
      await tx
        .insertInto('oncall_page_users')
        .values({ page_id: page.id, user: name, first_paged_at: now, step: page.step })
        .onConflict((oc) => oc.columns(['page_id', 'user']).doNothing())
        .execute();
    }
    for (const [i, hook] of audience.webhooks.entries()) {
      await deps.notifications.enqueue(tx, {
        idempotencyKey: `${keyBase}:webhook:${i}`,
        pageId: page.id,
        contacts: [hook],
        message,
        sendAt,
      });
    }
    await log(
      tx,
      page,
      'notified',
      null,
      { step: page.step + 1, round: page.round + 1, users: reached, webhooks: audience.webhooks.length, empty: audience.empty },
      now,
    );
    if (!policy || page.urgency === 'low') return;
    // Nobody reached: don't sit out the wait on silence, go straight on (PagerDuty does the same).
    const wait = reached.length + audience.webhooks.length === 0 ? 0 : (parseDuration(policy.steps[page.step]!.after) ?? 0);
    const last = page.step === policy.steps.length - 1;
    const next = last ? { step: 0, round: page.round + 1 } : { step: page.step + 1, round: page.round };
    if (next.round > (policy.repeat ?? 0)) return;
    await core.jobs.schedule(
      JOB_ESCALATE,
      { pageId: page.id, cycle: page.cycle, ...next },
      { tx, runAt: now + wait, dedupKey: escalateKey(page.id) },
    );
  }

  async function load(tx: Executor, id: string): Promise<Page> {
    const page = await tx.selectFrom('oncall_pages').selectAll().where('id', '=', id).executeTakeFirst();
    if (!page) throw notFound(`page '${id}' does not exist`, { id });
    return page;
  }

  async function stopTimers(tx: Executor, page: Page) {
    await core.jobs.cancel(escalateKey(page.id), { tx });
    await deps.notifications.cancelPending(tx, page.id);
  }

  return {
    /**
     * Starts a page, or finds the open one with the same dedup key (a new trigger on an open or
     * acknowledged page does not page again: PagerDuty's rule). Undefined when a service has no policy.
     */
    async trigger(tx: Executor, input: TriggerInput): Promise<{ page: Page; created: boolean } | undefined> {
      const now = core.clock.now();
      if (input.dedupKey) {
        const open = await tx
          .selectFrom('oncall_pages')
          .selectAll()
          .where('dedup_key', '=', input.dedupKey)
          .where('status', '<>', 'resolved')
          .executeTakeFirst();
        if (open) return { page: open, created: false };
      }
      let policyName = input.user ? null : (input.policy ?? null);
      if (!input.user && !policyName && input.service) {
        const service = await deps.catalog.getService(input.service, tx);
        const oncall = (service?.spec as { oncall?: ServiceOncallSection } | undefined)?.oncall;
        policyName = (input.severity ? oncall?.bySeverity?.[input.severity] : undefined) ?? oncall?.escalationPolicy ?? null;
      }
      const policy = await policyOf(tx, policyName);
      if (!input.user && !policy) return undefined;
      if (input.user && !(await deps.catalog.getUser(input.user, tx)))
        throw badRequest(`user '${input.user}' does not exist`, { pointer: '/user' });
      const page: Page = {
        id: newId('pag', now),
        dedup_key: input.dedupKey ?? null,
        source: input.source,
        group_id: input.groupId ?? null,
        service: input.service ?? null,
        policy: policyName,
        direct_user: input.user ?? null,
        title: input.title,
        summary: input.summary ?? null,
        urgency: input.urgency ?? policy?.urgency ?? 'high',
        status: 'triggered',
        step: 0,
        round: 0,
        cycle: 1,
        triggered_at: now,
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        changes: JSON.stringify((input.changes ?? []).slice(0, 20)),
        created_by: input.by,
        updated_at: now,
      };
      await tx.insertInto('oncall_pages').values(page).execute();
      await log(tx, page, 'triggered', input.by, { source: input.source, policy: policyName, user: input.user }, now);
      await publish(tx, PAGE_EVENTS.triggered, page, input.by, { policy: policyName, source: input.source });
      await notifyStep(tx, page, policy, 'triggered', now);
      return { page, created: true };
    },

    /** The escalation timer: moves a still-triggered page to the step the job names. */
    async escalate(tx: Executor, job: { pageId: string; cycle: number; step: number; round: number }) {
      const now = core.clock.now();
      const page = await tx.selectFrom('oncall_pages').selectAll().where('id', '=', job.pageId).executeTakeFirst();
      if (page?.status !== 'triggered' || page.cycle !== job.cycle) return;
      // Only from the step just before: a duplicate or stale job finds the page elsewhere and does nothing.
      const order = (s: number, r: number) => r * 1000 + s;
      if (order(job.step, job.round) <= order(page.step, page.round)) return;
      const policy = await policyOf(tx, page.policy);
      if (!policy || job.step >= policy.steps.length) return;
      const moved = { ...page, step: job.step, round: job.round, updated_at: now };
      await tx.updateTable('oncall_pages').set({ step: job.step, round: job.round, updated_at: now }).where('id', '=', page.id).execute();
      await log(tx, moved, 'escalated', null, { step: job.step + 1, round: job.round + 1 }, now);
      await publish(tx, PAGE_EVENTS.escalated, moved, null, { step: job.step + 1, round: job.round + 1 });
      await notifyStep(tx, moved, policy, 'escalated', now);
    },

    async acknowledge(tx: Executor, id: string, by: string, options: { fromGroup?: boolean } = {}): Promise<Page> {
      const now = core.clock.now();
      const page = await load(tx, id);
      if (page.status === 'resolved') throw conflict(`page '${id}' is already resolved`);
      if (page.status === 'acknowledged') return page;
      const patch = { status: 'acknowledged' as const, acknowledged_at: now, acknowledged_by: by, updated_at: now };
      const acked = { ...page, ...patch };
      await tx.updateTable('oncall_pages').set(patch).where('id', '=', id).execute();
      await stopTimers(tx, page);
      const policy = await policyOf(tx, page.policy);
      const timeout = parseDuration(policy?.ackTimeout ?? DEFAULT_ACK_TIMEOUT) ?? 30 * 60_000;
      await core.jobs.schedule(JOB_UNACK, { pageId: id, cycle: page.cycle }, { tx, runAt: now + timeout, dedupKey: unackKey(id) });
      await log(tx, acked, 'acknowledged', by, { afterMs: now - page.triggered_at }, now);
      await publish(tx, PAGE_EVENTS.acknowledged, acked, by);
      if (page.group_id && deps.actOnGroup && !options.fromGroup)
        await deps.actOnGroup(tx, { id: page.group_id, action: 'acknowledge', by, now });
      return acked;
    },

    async resolve(tx: Executor, id: string, by: string, options: { fromGroup?: boolean } = {}): Promise<Page> {
      const now = core.clock.now();
      const page = await load(tx, id);
      if (page.status === 'resolved') return page;
      const patch = { status: 'resolved' as const, resolved_at: now, resolved_by: by, updated_at: now };
      const resolved = { ...page, ...patch };
      await tx.updateTable('oncall_pages').set(patch).where('id', '=', id).execute();
      await stopTimers(tx, page);
      await core.jobs.cancel(unackKey(id), { tx });
      await log(tx, resolved, 'resolved', by, {}, now);
      await publish(tx, PAGE_EVENTS.resolved, resolved, by);
      if (page.group_id && deps.actOnGroup && !options.fromGroup)
        await deps.actOnGroup(tx, { id: page.group_id, action: 'resolve', by, now });
      return resolved;
    },

    /** Auto-unack: an acknowledged page nobody resolved within ackTimeout pages again from the first step. */
    async unacknowledge(tx: Executor, job: { pageId: string; cycle: number }) {
      const now = core.clock.now();
      const page = await tx.selectFrom('oncall_pages').selectAll().where('id', '=', job.pageId).executeTakeFirst();
      if (page?.status !== 'acknowledged' || page.cycle !== job.cycle) return;
      const patch = {
        status: 'triggered' as const,
        step: 0,
        round: 0,
        cycle: page.cycle + 1,
        acknowledged_at: null,
        acknowledged_by: null,
        updated_at: now,
      };
      const again = { ...page, ...patch };
      await tx.updateTable('oncall_pages').set(patch).where('id', '=', page.id).execute();
      await log(tx, again, 'retriggered', null, { reason: 'acknowledged but not resolved within ackTimeout', cycle: again.cycle }, now);
      await publish(tx, PAGE_EVENTS.retriggered, again, null, { cycle: again.cycle });
      await notifyStep(tx, again, await policyOf(tx, page.policy), 'retriggered', now);
    },

    load,
  };
}
export type Paging = ReturnType<typeof createPaging>;
