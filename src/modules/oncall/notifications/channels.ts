import type { Contact } from '../../catalog/index.js';
import type { NotificationMessage } from '../contracts.js';
import { sendEmail, smtpDestination } from './email.js';
import { permanentFailure, type SendOutcome } from './outcome.js';
import { sendSlack } from './slack.js';
import { sendWebhook } from './webhook.js';

export const NO_SMS_PROVIDER = 'no SMS provider configured';

/**
 * Where a contact sends to: the breaker's key and the log's "destination". An HTTP host:port
 * (never the path, which for Slack is the secret), or the SMTP server all email goes through.
 */
export function destinationOf(contact: Contact): string {
  if (contact.type === 'email') return smtpDestination();
  if (contact.type === 'sms') return 'sms:none';
  try {
    return new URL(contact.url ?? '').host;
  } catch {
    return 'invalid-url';
  }
}

export interface Attempt {
  contact: Contact;
  /** Position in the fallback chain: part of the email Message-ID so each address gets its own. */
  contactIndex: number;
  message: NotificationMessage;
  deliveryId: string;
  signingKey: Buffer;
  now: number;
  /** Aborted when the job's lease runs out. */
  signal?: AbortSignal;
}

/** One attempt on one contact, over its channel. Never throws: every failure is an outcome. */
export async function sendTo(a: Attempt): Promise<SendOutcome> {
  const { contact } = a;
  switch (contact.type) {
    case 'webhook':
    case 'slack': {
      const url = contact.url;
      if (!url || !/^https?:\/\//i.test(url)) return permanentFailure(`contact '${contact.name}' has no http(s) url`);
      return contact.type === 'webhook'
        ? sendWebhook({ url, message: a.message, deliveryId: a.deliveryId, signingKey: a.signingKey, now: a.now, signal: a.signal })
        : sendSlack({ url, message: a.message, signal: a.signal });
    }
    case 'email':
      if (!contact.address) return permanentFailure(`contact '${contact.name}' has no address`);
      return sendEmail({
        address: contact.address,
        message: a.message,
        deliveryId: a.deliveryId,
        messageId: `<${a.deliveryId}.${a.contactIndex}@opsdeck>`,
      });
    default:
      // No SMS gateway is built in: fail for good so the person's next contact is tried at once.
      return permanentFailure(NO_SMS_PROVIDER);
  }
}
