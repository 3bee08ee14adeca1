import type { Executor } from '../../../core/db/database.js';
import type { DomainEvent, Subscriber } from '../../../core/events/events.js';
import type { Core } from '../../../core/module.js';
import { GROUP_EVENTS, NOTIFY_EVENT } from '../../alerting/index.js';
import type { ChangeSummary } from '../contracts.js';
import { PAGE_EVENTS, type Paging } from './pages.service.js';

interface NotifyData {
  id: string;
  title: string;
  service: string | null;
  receiver: string;
  status: 'firing' | 'resolved';
  why: string;
  changes?: { at: number; type: string; service?: string | null; subject?: string | null; actor?: string | null }[];
}

export const groupDedupKey = (groupId: string) => `alert-group:${groupId}`;

/**
 * Alert groups page through escalation policies: a group's notification starts (or finds) its page,
 * and acknowledging or resolving the group does the same to the page. The receiver `service` means
 * the owning service's policy; any other receiver names an EscalationPolicy.
 */
export function alertGroupSubscriber(core: Core, paging: Paging): Subscriber {
  const openPage = (tx: Executor, groupId: string) =>
    tx
      .selectFrom('oncall_pages')
      .selectAll()
      .where('dedup_key', '=', groupDedupKey(groupId))
      .where('status', '<>', 'resolved')
      .executeTakeFirst();

  return {
    id: 'oncall.alert-groups',
    types: [NOTIFY_EVENT, GROUP_EVENTS.acknowledged, GROUP_EVENTS.resolved],
    async handle(event: DomainEvent, tx: Executor) {
      if (event.type === NOTIFY_EVENT) {
        const data = event.data as NotifyData;
        if (data.status === 'resolved') {
          const page = await openPage(tx, data.id);
          if (page) await paging.resolve(tx, page.id, 'alerting', { fromGroup: true });
          return;
        }
        const result = await paging.trigger(tx, {
          source: 'alert-group',
          dedupKey: groupDedupKey(data.id),
          groupId: data.id,
          service: data.service ?? undefined,
          policy: data.receiver === 'service' ? undefined : data.receiver,
          title: data.title,
          changes: (data.changes ?? []).map(toChange),
          by: 'alerting',
        });
        if (!result) {
          await core.events.publish(tx, {
            type: PAGE_EVENTS.unrouted,
            service: data.service,
            subject: data.id,
            data: {
              groupId: data.id,
              receiver: data.receiver,
              reason:
                data.receiver === 'service'
                  ? `service '${data.service ?? '(none)'}' has no spec.oncall.escalationPolicy`
                  : `EscalationPolicy '${data.receiver}' does not exist`,
            },
          });
        }
        return;
      }
      const groupId = (event.data as { id: string }).id;
      const page = await openPage(tx, groupId);
      if (!page) return;
      const by = event.actor ?? 'alerting';
      if (event.type === GROUP_EVENTS.acknowledged && page.status === 'triggered') {
        await paging.acknowledge(tx, page.id, by, { fromGroup: true });
      } else if (event.type === GROUP_EVENTS.resolved) {
        await paging.resolve(tx, page.id, by, { fromGroup: true });
      }
    },
  };
}

/** A change from alerting's "what changed" as notifications show it. */
export function toChange(c: {
  at: number;
  type: string;
  service?: string | null;
  subject?: string | null;
  actor?: string | null;
}): ChangeSummary {
  return {
    at: c.at,
    type: c.type,
    service: c.service ?? undefined,
    subject: c.subject ?? undefined,
    summary: `${c.type}${c.subject ? ` ${c.subject}` : ''}${c.actor ? ` by ${c.actor}` : ''}`,
  };
}
