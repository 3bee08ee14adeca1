import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { NotificationMessage } from '../contracts.js';
import { destinationOf, sendTo } from './channels.js';
import { emailBodies } from './email.js';
import { message, T0 } from './notifications.test-support.js';
import { signWebhook, verifyWebhookSignature } from './signature.js';
import { SLACK_MAX_CHANGES, slackPayload } from './slack.js';
import { webhookPayload } from './webhook.js';

const key = Buffer.alloc(32, 7);

describe('webhook signatures', () => {
  const body = JSON.stringify({ hello: 'world' });
  const ts = Math.floor(T0 / 1000);
  const signature = signWebhook(key, ts, body);
  const check = (over: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {}) =>
    verifyWebhookSignature({ body, timestamp: String(ts), signature, key, now: T0, ...over });

  it('accepts a genuine signature within the tolerance, with the key as bytes or base64', () => {
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(check()).toBe(true);
    expect(check({ key: key.toString('base64') })).toBe(true);
    expect(check({ now: T0 + 299_000 })).toBe(true);
    expect(check({ signature: `v1=${'0'.repeat(64)}, ${signature}` })).toBe(true);
  });

  it('refuses a changed body, another key, a replay outside the tolerance and malformed input', () => {
    expect(check({ body: `${body} ` })).toBe(false);
    expect(check({ key: Buffer.alloc(32, 8) })).toBe(false);
    expect(check({ now: T0 + 301_000 })).toBe(false);
    expect(check({ now: T0 - 301_000 })).toBe(false);
    expect(check({ now: T0 + 60_000, toleranceSec: 30 })).toBe(false);
    // The timestamp is signed: moving it forward to dodge the replay check breaks the signature.
    expect(check({ timestamp: String(ts + 600), now: T0 + 600_000 })).toBe(false);
    expect(check({ timestamp: 'soon' })).toBe(false);
    expect(check({ signature: 'v1=abc' })).toBe(false);
    expect(check({ signature: '' })).toBe(false);
  });
});

describe('rendering', () => {
  it('webhook payload carries nulls for what a test message lacks', () => {
    const test: NotificationMessage = { event: 'test', title: 'Test', urgency: 'low', paged: ['alice'], changes: [], at: T0 };
    expect(webhookPayload(test, 'ntf_1')).toEqual({
      version: 1,
      event: 'test',
      deliveryId: 'ntf_1',
      page: { id: null, title: 'Test', summary: null, service: null, urgency: 'low' },
      step: null,
      round: null,
      paged: ['alice'],
      changes: [],
      links: {},
      at: T0,
    });
  });

  it('email escapes everything in HTML and keeps text and HTML to the same facts', () => {
    const evil = { ...message, title: '<script>alert(1)</script>', summary: 'a & b "c"', round: 2 };
    const { subject, text, html } = emailBodies(evil);
    expect(subject).toBe('[opsdeck] TRIGGERED: <script>alert(1)</script> (feed)');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('a &#38; b &#34;c&#34;');
    expect(text).toContain('Step: 1 (round 2)');
    expect(text).toContain('Paged: alice, bob');
    expect(text).toContain('2026-05-04T09:59:00Z rollout step 2 of feed 1.1.0');
    for (const url of Object.values(message.links!)) {
      expect(text).toContain(url);
      expect(html).toContain(`href="${url}"`);
    }
    expect(emailBodies({ ...message, changes: [] }).text).toContain('nothing recorded');
  });

  it('Slack shows at most five changes, escapes mrkdwn, and leaves out empty blocks', () => {
    const changes = Array.from({ length: 8 }, (_, i) => ({ at: T0 - i * 60_000, type: 't', summary: `change <${i}>` }));
    const { blocks } = slackPayload({ ...message, changes });
    const what = blocks.find((b) => b.type === 'section' && 'text' in b && b.text?.text.startsWith('*What changed*'));
    const text = what && 'text' in what ? (what.text?.text ?? '') : '';
    expect(text.split('\n').filter((l) => l.startsWith('•'))).toHaveLength(SLACK_MAX_CHANGES);
    expect(text).toContain('change &lt;0&gt;');
    expect(text).toContain('_and 3 more_');
    const bare = slackPayload({ event: 'test', title: 'x'.repeat(200), urgency: 'low', paged: [], changes: [], at: T0 });
    expect(bare.blocks.map((b) => b.type)).toEqual(['header', 'section']);
    expect(bare.text).toHaveLength(206);
    expect(bare.blocks[0]).toMatchObject({ text: { text: expect.stringMatching(/^TEST: x+$/) } });
    expect((bare.blocks[0] as { text: { text: string } }).text.text).toHaveLength(150);
  });
});

describe('channels', () => {
  it('names destinations by host, never by the secret path of a Slack URL', () => {
    expect(destinationOf({ name: 's', type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/secret' })).toBe('hooks.slack.com');
    expect(destinationOf({ name: 'w', type: 'webhook', url: 'http://127.0.0.1:8080/x' })).toBe('127.0.0.1:8080');
    expect(destinationOf({ name: 'w', type: 'webhook', url: 'not a url' })).toBe('invalid-url');
    expect(destinationOf({ name: 'p', type: 'sms', address: '+1555' })).toBe('sms:none');
    expect(destinationOf({ name: 'm', type: 'email', address: 'a@example.com' })).toMatch(/^smtp:/);
  });

  it('fails for good, without a network call, on what can never work', async () => {
    const attempt = { contactIndex: 0, message, deliveryId: 'ntf_1', signingKey: key, now: T0 };
    expect(await sendTo({ ...attempt, contact: { name: 'p', type: 'sms', address: '+1555' } })).toEqual({
      ok: false,
      permanent: true,
      error: 'no SMS provider configured',
    });
    expect(await sendTo({ ...attempt, contact: { name: 'w', type: 'webhook', url: 'ftp://example.com/x' } })).toMatchObject({
      ok: false,
      permanent: true,
    });
    const saved = process.env.OPSDECK_SMTP_URL;
    delete process.env.OPSDECK_SMTP_URL;
    try {
      expect(await sendTo({ ...attempt, contact: { name: 'm', type: 'email', address: 'a@example.com' } })).toMatchObject({
        ok: false,
        permanent: true,
        error: expect.stringMatching(/OPSDECK_SMTP_URL/),
      });
    } finally {
      if (saved !== undefined) process.env.OPSDECK_SMTP_URL = saved;
    }
  });

  it('treats a refused connection as transient (worth a retry)', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const outcome = await sendTo({
      contact: { name: 'w', type: 'webhook', url: `http://127.0.0.1:${port}/refused` },
      contactIndex: 0,
      message,
      deliveryId: 'ntf_1',
      signingKey: key,
      now: T0,
    });
    expect(outcome).toMatchObject({ ok: false, permanent: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
