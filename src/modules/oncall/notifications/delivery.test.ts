import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '../../../core/db/database.js';
import { DIALECTS } from '../../../testing/databases.js';
import type { Contact } from '../../catalog/index.js';
import { BREAKER_FAILURES } from './breakers.js';
import { type Harness, type HttpSink, message, startHarness, startHttpSink, startSmtpSink } from './notifications.test-support.js';
import { MAX_ATTEMPTS } from './send.js';
import { verifyWebhookSignature } from './signature.js';

describe('the delivery queue', () => {
  let sink: HttpSink;
  let other: HttpSink;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  beforeAll(async () => {
    [sink, other, smtp] = await Promise.all([startHttpSink(), startHttpSink(), startSmtpSink()]);
    process.env.OPSDECK_SMTP_URL = smtp.url;
  });
  afterAll(async () => {
    delete process.env.OPSDECK_SMTP_URL;
    await Promise.all([sink.close(), other.close(), smtp.close()]);
  });

  describe.each(DIALECTS)('on %s', (dialect) => {
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.server.destroy();
      h = undefined;
    });
    const hook = (path: string, base = sink.base): Contact => ({ name: 'hook', type: 'webhook', url: `${base}/${path}-${dialect}` });

    it('delivers a signed webhook with the page, who is paged, what changed and the links', async () => {
      h = await startHarness(dialect, sink.base, dialect);
      await h.enqueue('signed', [hook('signed')]);
      await h.until(() => sink.on(`/signed-${dialect}`).length === 1);
      const [hit] = sink.on(`/signed-${dialect}`);
      const { secret } = (await (await h.server.request('/api/v1/notifications/signing-secret')).json()) as { secret: string };
      const timestamp = String(hit!.headers['x-opsdeck-timestamp']);
      const signature = String(hit!.headers['x-opsdeck-signature']);
      expect(Number(timestamp)).toBe(Math.floor(h.clock.now() / 1000));
      // Recomputed by hand, as a receiver in another language would.
      expect(signature).toBe(`v1=${createHmac('sha256', Buffer.from(secret, 'base64')).update(`${timestamp}.${hit!.body}`).digest('hex')}`);
      const verify = (body: string, now = h!.clock.now()) => verifyWebhookSignature({ body, timestamp, signature, key: secret, now });
      expect(verify(hit!.body)).toBe(true);
      expect(verify(hit!.body.replace('Feed errors', 'Feed fine'))).toBe(false);
      expect(verify(hit!.body, h.clock.now() + 6 * 60_000)).toBe(false); // replayed six minutes later
      expect(hit!.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'opsdeck' });
      const [delivery] = await h.log();
      expect(hit!.headers['x-opsdeck-delivery']).toBe(delivery!.id);
      expect(JSON.parse(hit!.body)).toEqual({
        version: 1,
        event: 'triggered',
        deliveryId: delivery!.id,
        page: { id: 'pag_test', title: message.title, summary: message.summary, service: 'feed', urgency: 'high' },
        step: 1,
        round: 1,
        paged: ['alice', 'bob'],
        changes: message.changes,
        links: message.links,
        at: message.at,
      });
      expect(delivery).toMatchObject({ status: 'sent', channel: 'webhook', nextAttemptAt: null, sentAt: h.clock.now() });
      const sent = (await (await h.server.request('/api/v1/events?types=oncall.notification.sent')).json()) as {
        items: { subject: string }[];
      };
      expect(sent.items.map((e) => e.subject)).toEqual([delivery!.id]);
    });

    it('retries a failing receiver with backoff until exactly one attempt succeeds, and sends each idempotency key once', async () => {
      h = await startHarness(dialect, sink.base, dialect);
      const path = `/flaky-${dialect}`;
      sink.script.set(path, [500, 500, 503, 500, 500]);
      expect(await h.enqueue('flaky', [hook('flaky')])).toBe(true);
      expect(await h.enqueue('flaky', [hook('flaky')])).toBe(false);
      await h.until(async () => (await h!.log())[0]?.status === 'sent', 5_000);
      const deliveries = await h.log();
      expect(deliveries).toHaveLength(1);
      const [d] = deliveries;
      expect(d!.attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'sent']);
      expect(d!.attempts.map((a) => a.statusCode)).toEqual([500, 500, 503, 500, 500, 200]);
      // Backoff: each attempt later than the one before.
      const times = d!.attempts.map((a) => a.at);
      expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true);
      const received = sink.on(path);
      expect(received).toHaveLength(6);
      expect(new Set(received.map((r) => r.headers['x-opsdeck-delivery']))).toEqual(new Set([d!.id]));
      // Once sent, running everything again sends nothing more.
      h.clock.advance(10 * 60_000);
      await h.server.core.jobs.runDue();
      expect(sink.on(path)).toHaveLength(6);
    });

    it('falls back to email over real SMTP when a webhook fails for good, and to the next contact when retries run out', async () => {
      h = await startHarness(dialect, sink.base, dialect);
      sink.always.set(`/gone-${dialect}`, 410);
      const address = `fallback-${dialect}@example.com`;
      await h.enqueue('gone', [hook('gone'), { name: 'mail', type: 'email', address }]);
      await h.until(async () => (await h!.log())[0]?.status === 'sent');
      const [d] = await h.log();
      expect(d).toMatchObject({ channel: 'email', contact: 'mail', chain: ['hook', 'mail'] });
      expect(d!.attempts.map((a) => [a.contact, a.outcome, a.statusCode])).toEqual([
        ['hook', 'permanent', 410],
        ['mail', 'sent', null],
      ]);
      const mail = smtp.mails.find((m) => m.to === address)!;
      expect(mail.raw).toMatch(/^Subject: \[opsdeck\] TRIGGERED: Feed errors <5xx> \(feed\)/m);
      expect(mail.raw).toMatch(/Content-Type: text\/plain/i);
      expect(mail.raw).toMatch(/Content-Type: text\/html/i);
      expect(mail.raw).toContain(`X-Opsdeck-Delivery: ${d!.id}`);
      expect(mail.raw).toContain(`Message-ID: <${d!.id}.1@opsdeck>`);
      expect(mail.raw).toContain('Feed errors &#60;5xx&#62;'); // escaped in the HTML part
      expect(mail.raw).toContain('http://opsdeck.example/a/ack');

      // Transient failures only: MAX_ATTEMPTS of them, then Slack.
      sink.always.set(`/down-${dialect}`, 503);
      await h.enqueue('down', [hook('down'), { name: 'chat', type: 'slack', url: `${sink.base}/chat-${dialect}` }], { pageId: 'pag_down' });
      await h.until(async () => (await h!.log('?page=pag_down'))[0]?.status === 'sent', 5_000);
      const [down] = await h.log('?page=pag_down');
      expect(down!.attempts.map((a) => a.outcome)).toEqual([...Array(MAX_ATTEMPTS - 1).fill('retry'), 'exhausted', 'sent']);
      expect(sink.on(`/down-${dialect}`)).toHaveLength(MAX_ATTEMPTS);
      expect(sink.on(`/chat-${dialect}`)).toHaveLength(1);
    });

    it('fails when every contact fails (no SMS provider, a 404 Slack hook) and says so in an event', async () => {
      h = await startHarness(dialect, sink.base, dialect);
      sink.always.set(`/dead-slack-${dialect}`, 404);
      await h.enqueue('dead', [
        { name: 'phone', type: 'sms', address: '+15550100' },
        { name: 'chat', type: 'slack', url: `${sink.base}/dead-slack-${dialect}` },
      ]);
      await h.until(async () => (await h!.log('?status=failed')).length === 1);
      const [d] = await h.log('?status=failed');
      expect(d!.attempts.map((a) => [a.channel, a.outcome, a.error])).toEqual([
        ['sms', 'permanent', 'no SMS provider configured'],
        ['slack', 'permanent', 'HTTP 404: no_service'],
      ]);
      expect(d!.nextAttemptAt).toBeNull();
      const failed = (await (await h.server.request('/api/v1/events?types=oncall.notification.failed')).json()) as {
        items: { subject: string; data: { error: string } }[];
      };
      expect(failed.items).toMatchObject([{ subject: d!.id, data: { error: 'HTTP 404: no_service' } }]);
    });

    it('renders Slack blocks with the facts, what changed and buttons to the links', async () => {
      h = await startHarness(dialect, sink.base, dialect);
      await h.enqueue('slack', [{ name: 'chat', type: 'slack', url: `${sink.base}/slack-${dialect}` }]);
      await h.until(() => sink.on(`/slack-${dialect}`).length === 1);
      const slack = JSON.parse(sink.on(`/slack-${dialect}`)[0]!.body) as {
        text: string;
        blocks: {
          type: string;
          text?: { text: string };
          fields?: { text: string }[];
          elements?: { url: string; text: { text: string } }[];
        }[];
      };
      expect(slack.text).toBe('TRIGGERED: Feed errors <5xx>');
      expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'section', 'actions']);
      expect(slack.blocks[1]!.fields!.map((f) => f.text)).toEqual([
        '*Service*\nfeed',
        '*Urgency*\nhigh',
        '*Step*\n1',
        '*Paged*\nalice, bob',
      ]);
      expect(slack.blocks[3]!.text!.text).toMatch(/^\*What changed\*\n• 2026-05-04T09:59:00Z rollout step 2 of feed 1\.1\.0$/);
      expect(slack.blocks[4]!.elements!.map((e) => [e.text.text, e.url])).toEqual([
        ['Acknowledge', 'http://opsdeck.example/a/ack'],
        ['Resolve', 'http://opsdeck.example/a/resolve'],
        ['Open', 'http://opsdeck.example/pages/pag_test'],
      ]);
    });

    it('cancels deliveries of a page that have not been tried, and only those', async () => {
      h = await startHarness(dialect, sink.base, dialect);
      const later = { pageId: 'pag_x', sendAt: h.clock.now() + 120_000 };
      await h.enqueue('later-1', [hook('later')], later);
      await h.enqueue('later-2', [hook('later')], { ...later, sendAt: h.clock.now() + 600_000 });
      await h.enqueue('other-page', [hook('later')], { ...later, pageId: 'pag_y' });
      const cancel = (filter?: { before?: number }) => transaction(h!.server.core.db, (tx) => h!.api.cancelPending(tx, 'pag_x', filter));
      expect(await cancel({ before: h.clock.now() + 300_000 })).toBe(1);
      expect(await cancel()).toBe(1);
      expect(await cancel()).toBe(0);
      h.clock.advance(700_000);
      await h.until(async () => (await h!.log('?page=pag_y'))[0]?.status === 'sent');
      expect(sink.on(`/later-${dialect}`)).toHaveLength(1);
      expect((await h.log('?page=pag_x')).map((d) => d.status)).toEqual(['cancelled', 'cancelled']);
    });

    it('opens the breaker for a failing host after consecutive failures without holding back another host', async () => {
      h = await startHarness(dialect, sink.base, dialect);
      sink.always.set(`/broken-${dialect}`, 502);
      for (let i = 0; i < BREAKER_FAILURES; i++) await h.enqueue(`broken-${i}`, [hook('broken')], { pageId: 'pag_broken' });
      await h.until(async () => (await h!.log('?page=pag_broken')).every((d) => d.attempts.length === 1));
      expect(sink.on(`/broken-${dialect}`)).toHaveLength(BREAKER_FAILURES);
      // The host has failed BREAKER_FAILURES times in a row: the next delivery to it is not even tried.
      await h.enqueue('broken-next', [hook('broken')], { pageId: 'pag_next' });
      await h.enqueue('healthy', [hook('healthy', other.base)], { pageId: 'pag_healthy' });
      await h.until(
        async () => (await h!.log('?page=pag_next'))[0]!.attempts.length === 1 && (await h!.log('?page=pag_healthy'))[0]!.status === 'sent',
      );
      const [next] = await h.log('?page=pag_next');
      expect(next!.attempts[0]).toMatchObject({ outcome: 'breaker-open', statusCode: null });
      expect(next!.attempts[0]!.error).toMatch(/circuit open/);
      expect(next).toMatchObject({ status: 'queued' });
      expect(sink.on(`/broken-${dialect}`)).toHaveLength(BREAKER_FAILURES);
      expect(other.on(`/healthy-${dialect}`)).toHaveLength(1);
    });
  });
});
