import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import { transaction } from '../../../core/db/database.js';
import { DIALECTS } from '../../../testing/databases.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import type { NotificationMessage } from '../contracts.js';
import type { OncallApi } from '../index.js';
import { verifyWebhookSignature } from './channels.js';
import type { DeliveryView } from './notifications.routes.js';

const T0 = Date.parse('2026-05-04T10:00:00Z');

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const message: NotificationMessage = {
  event: 'triggered',
  pageId: 'pag_test',
  title: 'Feed errors',
  service: 'feed',
  urgency: 'high',
  step: 1,
  round: 1,
  paged: ['alice'],
  changes: [{ at: T0 - 60_000, type: 'delivery.rollout.step', subject: 'feed', summary: 'rollout step 2 of feed 1.1.0' }],
  links: { ack: 'http://opsdeck.example/ack', resolve: 'http://opsdeck.example/resolve' },
  at: T0,
};

describe('notifications', () => {
  const hits: Hit[] = [];
  const mails: { to: string; raw: string }[] = [];
  /** Scripted statuses per path; 200 once the script runs out. */
  const script = new Map<string, number[]>();
  let sink: Server;
  let smtp: SMTPServer;
  let base = '';

  beforeAll(async () => {
    sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        hits.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const status = script.get(path)?.shift() ?? 200;
        res.writeHead(status).end(status === 200 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, done) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), raw });
          done();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    process.env.OPSDECK_SMTP_URL = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    sink.close();
    smtp.close();
    delete process.env.OPSDECK_SMTP_URL;
  });

  describe.each(DIALECTS)('on %s', (dialect) => {
    let server: TestServer | undefined;
    afterEach(async () => {
      await server?.destroy();
      server = undefined;
    });

    async function start() {
      const clock = new FakeClock(T0);
      server = await startTestServer({ dialect, clock });
      const users = `apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: alice }
spec:
  email: alice@example.com
  timeZone: UTC
  contacts:
    - { name: hook, type: webhook, url: "${base}/alice-${dialect}" }
    - { name: chat, type: slack, url: "${base}/slack-${dialect}" }
    - { name: mail, type: email, address: alice@example.com }
---
apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: nobody }
spec: { email: nobody@example.com, timeZone: UTC }
`;
      const res = await server.request('/api/v1/resources/apply', {
        method: 'POST',
        headers: { 'content-type': 'application/yaml' },
        body: users,
      });
      expect(res.status, await res.text()).toBe(200);
      const api = (server.modules as { oncall: OncallApi }).oncall.notifications;
      const enqueue = (key: string, contacts: { name: string; type: 'webhook' | 'slack' | 'email'; url?: string; address?: string }[]) =>
        transaction(server!.core.db, (tx) =>
          api.enqueue(tx, { idempotencyKey: key, pageId: 'pag_test', user: 'alice', contacts, message }),
        );
      return { clock, enqueue };
    }
    const log = async (query = '') =>
      ((await (await server!.request(`/api/v1/notifications${query}`)).json()) as { items: DeliveryView[] }).items;
    /** Moves time in steps, running due jobs, until `done` holds (the background worker may claim some first). */
    async function until(clock: FakeClock, done: () => Promise<boolean>, stepMs = 0) {
      for (let i = 0; i < 200; i++) {
        await server!.core.jobs.runDue();
        if (await done()) return;
        clock.advance(stepMs);
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('condition not reached');
    }

    it('signs webhooks, sends each idempotency key once, and retries a failing sink until exactly one delivery succeeds', async () => {
      const { clock, enqueue } = await start();
      const path = `/alice-${dialect}`;
      script.set(path, [500, 500, 500, 500, 500]);
      const contact = { name: 'hook', type: 'webhook' as const, url: `${base}${path}` };
      expect(await enqueue('k1', [contact])).toBe(true);
      expect(await enqueue('k1', [contact])).toBe(false);
      // Steps shorter than a job's lease (30 s): a bigger jump would let a second runner reclaim a running send.
      await until(clock, async () => (await log())[0]?.status === 'sent', 10_000);
      const [delivery] = await log();
      expect(delivery!.attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'sent']);
      expect(delivery!.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 500, 500, 200]);
      const received = hits.filter((h) => h.path === path);
      expect(received).toHaveLength(6);
      expect(new Set(received.map((h) => h.headers['x-opsdeck-delivery']))).toEqual(new Set([delivery!.id]));
      const last = received.at(-1)!;
      const { secret } = (await (await server!.request('/api/v1/notifications/signing-secret')).json()) as { secret: string };
      const key = Buffer.from(secret, 'base64');
      const check = (body: string, now = clock.now()) =>
        verifyWebhookSignature({
          body,
          timestamp: String(last.headers['x-opsdeck-timestamp']),
          signature: String(last.headers['x-opsdeck-signature']),
          key,
          now,
        });
      expect(check(last.body)).toBe(true);
      expect(check(last.body.replace('Feed errors', 'Feed okay'))).toBe(false);
      expect(check(last.body, clock.now() + 10 * 60_000)).toBe(false); // a replay later
      expect(JSON.parse(last.body)).toMatchObject({
        version: 1,
        event: 'triggered',
        page: { id: 'pag_test', title: 'Feed errors' },
        paged: ['alice'],
        links: { ack: 'http://opsdeck.example/ack' },
      });
    });

    it('falls back to the next contact on a permanent failure, by email to a real SMTP server, and renders Slack blocks', async () => {
      const { clock, enqueue } = await start();
      script.set(`/gone-${dialect}`, [410]);
      await enqueue('k2', [
        { name: 'hook', type: 'webhook', url: `${base}/gone-${dialect}` },
        { name: 'mail', type: 'email', address: `alice-${dialect}@example.com` },
      ]);
      await until(clock, async () => (await log())[0]?.status === 'sent');
      const [delivery] = await log();
      expect(delivery).toMatchObject({ channel: 'email', contact: 'mail' });
      expect(delivery!.attempts.map((a) => [a.channel, a.outcome])).toEqual([
        ['webhook', 'permanent'],
        ['email', 'sent'],
      ]);
      const mail = mails.find((m) => m.to === `alice-${dialect}@example.com`)!;
      expect(mail.raw).toMatch(/Subject: \[opsdeck\] TRIGGERED: Feed errors \(feed\)/);
      expect(mail.raw).toMatch(/Content-Type: text\/plain/i);
      expect(mail.raw).toMatch(/Content-Type: text\/html/i);

      await enqueue('k3', [{ name: 'chat', type: 'slack', url: `${base}/slack-${dialect}` }]);
      await until(clock, async () => hits.some((h) => h.path === `/slack-${dialect}`));
      const slack = JSON.parse(hits.find((h) => h.path === `/slack-${dialect}`)!.body) as {
        text: string;
        blocks: { type: string; elements?: { url: string }[] }[];
      };
      expect(slack.text).toBe('TRIGGERED: Feed errors');
      expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'actions']);
      expect(slack.blocks.at(-1)!.elements!.map((e) => e.url)).toEqual(['http://opsdeck.example/ack', 'http://opsdeck.example/resolve']);

      // Every contact failing for good: the delivery fails and says so.
      script.set(`/gone2-${dialect}`, [404]);
      await enqueue('k4', [{ name: 'hook', type: 'webhook', url: `${base}/gone2-${dialect}` }]);
      await until(clock, async () => (await log('?status=failed')).length === 1);
      const failed = (await (await server!.request('/api/v1/events?types=oncall.notification.failed')).json()) as { items: unknown[] };
      expect(failed.items).toHaveLength(1);
    });

    it('cancels deliveries that have not started when a page is acknowledged', async () => {
      const { clock } = await start();
      const api = (server!.modules as { oncall: OncallApi }).oncall.notifications;
      await transaction(server!.core.db, (tx) =>
        api.enqueue(tx, {
          idempotencyKey: 'later',
          pageId: 'pag_x',
          user: 'alice',
          contacts: [{ name: 'hook', type: 'webhook', url: `${base}/later-${dialect}` }],
          message,
          sendAt: T0 + 120_000,
        }),
      );
      expect(await transaction(server!.core.db, (tx) => api.cancelPending(tx, 'pag_x'))).toBe(1);
      clock.advance(180_000);
      await server!.core.jobs.runDue();
      expect(hits.some((h) => h.path === `/later-${dialect}`)).toBe(false);
      expect((await log('?page=pag_x'))[0]!.status).toBe('cancelled');
    });

    it('sends a test to each contact of a user and refuses bad input naming the field', async () => {
      const { clock } = await start();
      const res = await server!.request('/api/v1/notifications/test', { method: 'POST', json: { user: 'alice', contact: 'hook' } });
      expect(res.status).toBe(202);
      await until(clock, async () => (await log('?user=alice'))[0]?.status === 'sent');
      expect(JSON.parse(hits.filter((h) => h.path === `/alice-${dialect}`).at(-1)!.body)).toMatchObject({ event: 'test' });
      const bad = async (body: unknown, pointer: string) => {
        const r = await server!.request('/api/v1/notifications/test', { method: 'POST', json: body });
        expect(r.status).toBe(400);
        expect(await r.text()).toContain(pointer);
      };
      await bad({ user: 'ghost' }, '/user');
      await bad({ user: 'nobody' }, '/user');
      await bad({ user: 'alice', contact: 'pager' }, '/contact');
      const audit = (await (await server!.request('/api/v1/audit?limit=10')).json()) as { items: { action: string }[] };
      expect(audit.items.map((a) => a.action)).toContain('oncall.notification.test');
    });
  });
});
