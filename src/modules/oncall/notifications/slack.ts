import type { NotificationMessage } from '../contracts.js';
import { actionLinks, headline, isoMinute, stepLabel } from './message-text.js';
import type { SendOutcome } from './outcome.js';
import { postJson } from './webhook.js';

/** Slack's own limits: header text 150 chars, section text 3000, 10 fields, 25 action elements. */
const HEADER_MAX = 150;
const TEXT_MAX = 2900;
export const SLACK_MAX_CHANGES = 5;

type Text = { type: 'plain_text' | 'mrkdwn'; text: string };
type Block =
  | { type: 'header'; text: Text }
  | { type: 'section'; text?: Text; fields?: Text[] }
  | { type: 'actions'; elements: { type: 'button'; text: Text; url: string; style?: 'primary' | 'danger' }[] };

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
const mrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An incoming-webhook message: `text` is the notification fallback, `blocks` what people see. */
export function slackPayload(m: NotificationMessage): { text: string; blocks: Block[] } {
  const head = headline(m);
  const step = stepLabel(m);
  const fields = [
    m.service && `*Service*\n${mrkdwn(m.service)}`,
    `*Urgency*\n${m.urgency}`,
    step && `*Step*\n${step}`,
    m.paged.length > 0 && `*Paged*\n${mrkdwn(m.paged.join(', '))}`,
  ].filter((f): f is string => typeof f === 'string');
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: head.slice(0, HEADER_MAX) } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (m.summary) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: mrkdwn(m.summary).slice(0, TEXT_MAX) } });
  if (m.changes.length > 0) {
    const lines = m.changes.slice(0, SLACK_MAX_CHANGES).map((c) => `• ${isoMinute(c.at)} ${mrkdwn(c.summary)}`);
    const more = m.changes.length > SLACK_MAX_CHANGES ? `\n_and ${m.changes.length - SLACK_MAX_CHANGES} more_` : '';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*What changed*\n${lines.join('\n')}${more}`.slice(0, TEXT_MAX) } });
  }
  const buttons = actionLinks(m).map((l) => ({
    type: 'button' as const,
    text: { type: 'plain_text' as const, text: l.label },
    url: l.url,
    ...(l.label === 'Acknowledge' ? { style: 'primary' as const } : {}),
  }));
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return { text: head, blocks };
}

/**
 * Slack answers 200 `ok`; 4xx answers (`no_service`, `invalid_payload`, `channel_is_archived`)
 * mean this webhook will never work, so they are permanent and the next contact is tried.
 */
export function sendSlack(input: { url: string; message: NotificationMessage; signal?: AbortSignal }): Promise<SendOutcome> {
  return postJson(input.url, JSON.stringify(slackPayload(input.message)), {}, input.signal);
}
