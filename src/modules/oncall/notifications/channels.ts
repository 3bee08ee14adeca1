import { createHmac, timingSafeEqual } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Contact } from '../../catalog/index.js';
import type { NotificationMessage } from '../contracts.js';

/** What one attempt came to: sent, or failed (permanently: try the next contact; else retry later). */
export type SendOutcome = { ok: true; status?: number } | { ok: false; permanent: boolean; status?: number; error: string };

export const SEND_TIMEOUT_MS = 5000;
const TITLES: Record<NotificationMessage['event'], string> = {
  triggered: 'TRIGGERED',
  escalated: 'ESCALATED',
  retriggered: 'RE-TRIGGERED',
  acknowledged: 'ACKNOWLEDGED',
  resolved: 'RESOLVED',
  test: 'TEST',
};

/** The JSON every webhook receives (documented in docs/oncall.md). */
export function webhookPayload(message: NotificationMessage, deliveryId: string) {
  return {
    version: 1,
    event: message.event,
    deliveryId,
    page: message.pageId
      ? {
          id: message.pageId,
          title: message.title,
          summary: message.summary ?? null,
          service: message.service ?? null,
          urgency: message.urgency,
        }
      : { id: null, title: message.title, summary: message.summary ?? null, service: message.service ?? null, urgency: message.urgency },
    step: message.step ?? null,
    round: message.round ?? null,
    paged: message.paged,
    changes: message.changes,
    links: message.links ?? {},
    at: message.at,
  };
}

/** `v1=<hex HMAC-SHA256(key, "<unix seconds>.<body>")>`: the timestamp is signed so a captured request can't be replayed later. */
export function signWebhook(key: Buffer, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers (and tests): a genuine signature on a fresh timestamp. */
export function verifyWebhookSignature(input: {
  body: string;
  timestamp: string;
  signature: string;
  key: Buffer;
  now: number;
  toleranceSec?: number;
}): boolean {
  const ts = Number(input.timestamp);
  if (!Number.isInteger(ts) || Math.abs(input.now / 1000 - ts) > (input.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(signWebhook(input.key, ts, input.body));
  const given = Buffer.from(input.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function slackPayload(m: NotificationMessage) {
  const head = `${TITLES[m.event]}: ${m.title}`;
  const fields = [
    m.service && `*Service*\n${m.service}`,
    `*Urgency*\n${m.urgency}`,
    m.step && `*Step*\n${m.step}${m.round && m.round > 1 ? ` (round ${m.round})` : ''}`,
    m.paged.length > 0 && `*Paged*\n${m.paged.join(', ')}`,
  ].filter((f): f is string => typeof f === 'string');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: head.slice(0, 150) } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (m.summary) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: m.summary.slice(0, 2900) } });
  if (m.changes.length > 0) {
    const lines = m.changes.slice(0, 5).map((c) => `• ${new Date(c.at).toISOString().slice(11, 16)}Z ${c.summary}`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*What changed*\n${lines.join('\n')}` } });
  }
  const buttons = [
    m.links?.ack && { type: 'button', text: { type: 'plain_text', text: 'Acknowledge' }, url: m.links.ack, style: 'primary' },
    m.links?.resolve && { type: 'button', text: { type: 'plain_text', text: 'Resolve' }, url: m.links.resolve },
    m.links?.view && { type: 'button', text: { type: 'plain_text', text: 'Open' }, url: m.links.view },
  ].filter(Boolean);
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return { text: head, blocks };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function emailBodies(m: NotificationMessage) {
  const subject = `[opsdeck] ${TITLES[m.event]}: ${m.title}${m.service ? ` (${m.service})` : ''}`;
  const facts: [string, string][] = [
    ['Service', m.service ?? '-'],
    ['Urgency', m.urgency],
    ['Step', m.step ? `${m.step}${m.round && m.round > 1 ? ` (round ${m.round})` : ''}` : '-'],
    ['Paged', m.paged.join(', ') || '-'],
    ['Triggered', new Date(m.at).toISOString()],
  ];
  const links: [string, string | undefined][] = [
    ['Acknowledge', m.links?.ack],
    ['Resolve', m.links?.resolve],
    ['Open', m.links?.view],
  ];
  const text = [
    subject,
    '',
    ...(m.summary ? [m.summary, ''] : []),
    ...facts.map(([k, v]) => `${k}: ${v}`),
    '',
    'What changed:',
    ...(m.changes.length ? m.changes.slice(0, 10).map((c) => `  ${new Date(c.at).toISOString()} ${c.summary}`) : ['  nothing recorded']),
    '',
    ...links.filter(([, u]) => u).map(([k, u]) => `${k}: ${u}`),
  ].join('\n');
  const html =
    `<h2>${escapeHtml(subject)}</h2>${m.summary ? `<p>${escapeHtml(m.summary)}</p>` : ''}<table>` +
    facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('') +
    `</table><h3>What changed</h3><ul>${
      m.changes.length
        ? m.changes
            .slice(0, 10)
            .map((c) => `<li>${escapeHtml(new Date(c.at).toISOString())} ${escapeHtml(c.summary)}</li>`)
            .join('')
        : '<li>nothing recorded</li>'
    }</ul><p>${links
      .filter(([, u]) => u)
      .map(([k, u]) => `<a href="${escapeHtml(u!)}">${escapeHtml(k)}</a>`)
      .join(' · ')}</p>`;
  return { subject, text, html };
}

/** HTTP statuses worth retrying; any other non-2xx is permanent (the next contact is tried). */
const transientStatus = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

async function post(url: string, body: string, headers: Record<string, string>): Promise<SendOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'opsdeck', ...headers },
      body,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { ok: true, status: res.status };
    return { ok: false, permanent: !transientStatus(res.status), status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    return {
      ok: false,
      permanent: false,
      error: (err as Error).name === 'TimeoutError' ? `timed out after ${SEND_TIMEOUT_MS} ms` : (err as Error).message,
    };
  }
}

const transports = new Map<string, Transporter>();
function transport(url: string): Transporter {
  let t = transports.get(url);
  if (!t) {
    // Pooled: a page to many people reuses connections; the timeouts bound a dead server.
    const parsed = new URL(url);
    t = nodemailer.createTransport({
      pool: true,
      host: parsed.hostname,
      port: Number(parsed.port) || (parsed.protocol === 'smtps:' ? 465 : 25),
      secure: parsed.protocol === 'smtps:',
      auth: parsed.username ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } : undefined,
      connectionTimeout: SEND_TIMEOUT_MS,
      greetingTimeout: SEND_TIMEOUT_MS,
      socketTimeout: SEND_TIMEOUT_MS,
    });
    transports.set(url, t);
  }
  return t;
}

/** Where a contact sends to, for the breaker and the log (never with secrets in query strings). */
export function destinationOf(contact: Contact): string {
  if (contact.type === 'email') return `smtp:${process.env.OPSDECK_SMTP_URL ? new URL(process.env.OPSDECK_SMTP_URL).host : 'unconfigured'}`;
  if (contact.type === 'sms') return 'sms';
  try {
    return new URL(contact.url!).host;
  } catch {
    return 'invalid-url';
  }
}

/** One attempt on one contact. */
export async function sendTo(
  contact: Contact,
  message: NotificationMessage,
  deliveryId: string,
  signingKey: Buffer,
  now: number,
): Promise<SendOutcome> {
  if (contact.type === 'webhook') {
    const body = JSON.stringify(webhookPayload(message, deliveryId));
    const timestamp = Math.floor(now / 1000);
    return post(contact.url!, body, {
      'x-opsdeck-delivery': deliveryId,
      'x-opsdeck-timestamp': String(timestamp),
      'x-opsdeck-signature': signWebhook(signingKey, timestamp, body),
    });
  }
  if (contact.type === 'slack') return post(contact.url!, JSON.stringify(slackPayload(message)), {});
  if (contact.type === 'email') {
    const url = process.env.OPSDECK_SMTP_URL;
    if (!url) return { ok: false, permanent: true, error: 'no SMTP server configured (set OPSDECK_SMTP_URL)' };
    const { subject, text, html } = emailBodies(message);
    try {
      await transport(url).sendMail({
        from: process.env.OPSDECK_SMTP_FROM ?? 'opsdeck <opsdeck@localhost>',
        to: contact.address,
        subject,
        text,
        html,
        headers: { 'X-Opsdeck-Delivery': deliveryId },
      });
      return { ok: true };
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      // SMTP 5xx is a permanent refusal (bad mailbox); connection trouble and 4xx are worth retrying.
      return { ok: false, permanent: code !== undefined && code >= 500, status: code, error: (err as Error).message };
    }
  }
  return { ok: false, permanent: true, error: 'no SMS provider is configured' };
}
