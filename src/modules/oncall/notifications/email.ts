import nodemailer, { type Transporter } from 'nodemailer';
import type { NotificationMessage } from '../contracts.js';
import { actionLinks, EVENT_TITLES, isoMinute, stepLabel } from './message-text.js';
import { permanentFailure, SEND_TIMEOUT_MS, type SendOutcome, transientFailure } from './outcome.js';

export const DEFAULT_SMTP_FROM = 'opsdeck <opsdeck@localhost>';
const MAX_CHANGES = 10;

/**
 * SMTP settings come from the environment at send time (`OPSDECK_SMTP_URL`, e.g.
 * `smtp://user:pass@mail.example.com:587` or `smtps://…:465`; `OPSDECK_SMTP_FROM`), so they can
 * be set or fixed without touching stored deliveries.
 */
export function smtpSettings(env: NodeJS.ProcessEnv = process.env): { url?: string; from: string } {
  return { url: env.OPSDECK_SMTP_URL || undefined, from: env.OPSDECK_SMTP_FROM || DEFAULT_SMTP_FROM };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Subject, plain text and HTML with the same facts and links; everything from the message is escaped in HTML. */
export function emailBodies(m: NotificationMessage): { subject: string; text: string; html: string } {
  const subject = `[opsdeck] ${EVENT_TITLES[m.event]}: ${m.title}${m.service ? ` (${m.service})` : ''}`;
  const facts: [string, string][] = [
    ['Service', m.service ?? '-'],
    ['Urgency', m.urgency],
    ['Step', stepLabel(m) ?? '-'],
    ['Paged', m.paged.join(', ') || '-'],
    ['Triggered', isoMinute(m.at)],
  ];
  const changes = m.changes.slice(0, MAX_CHANGES).map((c) => `${isoMinute(c.at)} ${c.summary}`);
  if (m.changes.length > MAX_CHANGES) changes.push(`and ${m.changes.length - MAX_CHANGES} more`);
  const links = actionLinks(m);
  const text = [
    subject,
    '',
    ...(m.summary ? [m.summary, ''] : []),
    ...facts.map(([k, v]) => `${k}: ${v}`),
    '',
    'What changed:',
    ...(changes.length ? changes.map((c) => `  ${c}`) : ['  nothing recorded']),
    '',
    ...links.map((l) => `${l.label}: ${l.url}`),
  ].join('\n');
  const html = [
    `<h2>${escapeHtml(subject)}</h2>`,
    m.summary ? `<p>${escapeHtml(m.summary)}</p>` : '',
    '<table>',
    ...facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
    '</table>',
    '<h3>What changed</h3><ul>',
    ...(changes.length ? changes.map((c) => `<li>${escapeHtml(c)}</li>`) : ['<li>nothing recorded</li>']),
    '</ul>',
    links.length ? `<p>${links.map((l) => `<a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a>`).join(' &middot; ')}</p>` : '',
  ].join('\n');
  return { subject, text, html };
}

// One pooled transport per SMTP URL for the life of the process: a page to many people reuses
// connections instead of a handshake (and maybe TLS) per message.
const transports = new Map<string, Transporter>();
function transport(url: string): Transporter {
  let t = transports.get(url);
  if (!t) {
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

/** `smtp:host:port` (never the credentials): the breaker and the log key on it. */
export function smtpDestination(env: NodeJS.ProcessEnv = process.env): string {
  const { url } = smtpSettings(env);
  if (!url) return 'smtp:unconfigured';
  try {
    return `smtp:${new URL(url).host}`;
  } catch {
    return 'smtp:invalid-url';
  }
}

/** Errors that retrying will not fix: a refused mailbox (5xx), no valid recipient, bad credentials. */
function isPermanent(err: { code?: string; responseCode?: number }): boolean {
  if (err.responseCode !== undefined) return err.responseCode >= 500;
  return err.code === 'EENVELOPE' || err.code === 'EAUTH';
}

export async function sendEmail(input: {
  address: string;
  message: NotificationMessage;
  /** Stable across retries of one delivery, so a repeat after a crash threads as the same mail. */
  messageId: string;
  deliveryId: string;
}): Promise<SendOutcome> {
  const { url, from } = smtpSettings();
  if (!url) return permanentFailure('no SMTP server configured (set OPSDECK_SMTP_URL)');
  let mailer: Transporter;
  try {
    mailer = transport(url);
  } catch (err) {
    return permanentFailure(`OPSDECK_SMTP_URL is not usable: ${(err as Error).message}`);
  }
  const { subject, text, html } = emailBodies(input.message);
  let timer: NodeJS.Timeout | undefined;
  // nodemailer bounds each step; this bounds the whole conversation like every other outbound call.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`timed out after ${SEND_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })),
      SEND_TIMEOUT_MS,
    );
  });
  try {
    const info = await Promise.race([
      mailer.sendMail({
        from,
        to: input.address,
        subject,
        text,
        html,
        messageId: input.messageId,
        headers: { 'X-Opsdeck-Delivery': input.deliveryId },
      }),
      timeout,
    ]);
    if ((info.rejected ?? []).length > 0) return permanentFailure(`recipient refused: ${input.address}`);
    return { ok: true };
  } catch (err) {
    const e = err as Error & { code?: string; responseCode?: number };
    const outcome = isPermanent(e) ? permanentFailure : transientFailure;
    return outcome(e.message, e.responseCode);
  } finally {
    clearTimeout(timer);
  }
}
