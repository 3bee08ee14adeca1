import type { NotificationMessage } from '../contracts.js';

/** How each channel names the event in its headline. */
export const EVENT_TITLES: Record<NotificationMessage['event'], string> = {
  triggered: 'TRIGGERED',
  escalated: 'ESCALATED',
  retriggered: 'RE-TRIGGERED',
  acknowledged: 'ACKNOWLEDGED',
  resolved: 'RESOLVED',
  test: 'TEST',
};

export const headline = (m: NotificationMessage) => `${EVENT_TITLES[m.event]}: ${m.title}`;

/** `2`, or `2 (round 3)` once the policy has gone round again. */
export const stepLabel = (m: NotificationMessage) =>
  m.step ? `${m.step}${m.round && m.round > 1 ? ` (round ${m.round})` : ''}` : undefined;

/** The links in the order people want them, present ones only. */
export function actionLinks(m: NotificationMessage): { label: string; url: string }[] {
  const all = [
    { label: 'Acknowledge', url: m.links?.ack },
    { label: 'Resolve', url: m.links?.resolve },
    { label: 'Open', url: m.links?.view },
  ];
  return all.filter((l): l is { label: string; url: string } => typeof l.url === 'string' && l.url !== '');
}

/** `2026-05-04T09:59:00Z`: second precision is enough and reads better. */
export const isoMinute = (at: number) => `${new Date(at).toISOString().slice(0, 19)}Z`;
