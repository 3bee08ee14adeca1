import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, waitFor } from '../../src/testing/fleet.js';

// The pager end to end, against a real server process: an alert pages the primary through a local
// webhook sink; nobody acknowledges, so the secondary is paged after the step delay, by email to a
// real SMTP server and by webhook; the secondary acknowledges through the signed link in that
// webhook, which stops escalation. Then kill -9 during an escalation: after a restart the next step
// still comes on time, and nobody is notified twice for the same step.

interface Received {
  path: string;
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: { event: string; page: { id: string; title: string }; step: number; links?: { ack?: string } };
}

const STEP = 4; // seconds between escalation steps

describe('on-call paging end to end', () => {
  const fleet = new Fleet();
  const hooks: Received[] = [];
  const mails: { to: string; raw: string }[] = [];
  let sink: Server;
  let smtp: SMTPServer;
  let sinkUrl = '';

  beforeAll(async () => {
    sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        hooks.push({ path: req.url ?? '', at: Date.now(), headers: req.headers, body, json: JSON.parse(body) as Received['json'] });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
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
    await fleet.startServer();
    await fleet.apply(`apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: alice }
spec: { email: alice@example.com, timeZone: Europe/Dublin, contacts: [ { name: hook, type: webhook, url: "${sinkUrl}/alice" } ] }
---
apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: bob }
spec:
  email: bob@example.com
  timeZone: America/New_York
  contacts:
    - { name: mail, type: email, address: bob@example.com }
    - { name: hook, type: webhook, url: "${sinkUrl}/bob" }
  notificationRules: [ { contact: mail, after: 0s }, { contact: hook, after: 0s } ]
---
apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: feed-team }
spec: { members: [alice, bob] }
---
apiVersion: opsdeck.dev/v1
kind: Schedule
metadata: { name: feed-primary }
spec:
  timeZone: UTC
  layers: [ { name: main, users: [alice], turn: 1w, handoff: { weekday: monday, time: "09:00" }, start: "2026-01-05" } ]
---
apiVersion: opsdeck.dev/v1
kind: Schedule
metadata: { name: feed-secondary }
spec:
  timeZone: UTC
  layers: [ { name: main, users: [bob], turn: 1w, handoff: { weekday: monday, time: "09:00" }, start: "2026-01-05" } ]
---
apiVersion: opsdeck.dev/v1
kind: EscalationPolicy
metadata: { name: feed }
spec:
  steps:
    - notify: [ { schedule: feed-primary } ]
      after: ${STEP}s
    - notify: [ { schedule: feed-secondary } ]
      after: 10m
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec: { owner: feed-team, tier: 1, oncall: { escalationPolicy: feed } }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: prom }
spec: { service: feed, type: generic }
---
apiVersion: opsdeck.dev/v1
kind: AlertRouting
metadata: { name: default }
spec: { route: { receiver: service, groupWait: 0s, groupInterval: 1m, repeatInterval: 1h } }
`);
  }, 60_000);

  afterAll(async () => {
    await fleet.stop();
    sink?.close();
    smtp?.close();
    delete process.env.OPSDECK_SMTP_URL;
  });

  const fire = async (title: string) => {
    const { url } = await fleet.json<{ url: string }>('/api/v1/integrations/prom/url');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'firing', title, key: title }),
    });
    expect(res.status).toBe(200);
  };
  const pageOf = (title: string) =>
    waitFor(`a page for ${title}`, async () => {
      const { items } = await fleet.json<{ items: { id: string; title: string }[] }>('/api/v1/pages?status=all');
      return items.find((p) => p.title === title);
    });
  const pageDetail = (id: string) =>
    fleet.json<{ status: string; step: number; triggeredAt: number; timeline: { type: string; at: number }[] }>(`/api/v1/pages/${id}`);

  it('pages the primary, escalates to the secondary by email and webhook, and an ack from the signed link stops it', async () => {
    await fire('FeedErrors');
    const page = await pageOf('FeedErrors');
    const alice = await waitFor(
      'the primary is paged',
      async () => hooks.find((h) => h.path === '/alice' && h.json.page.id === page.id),
      20_000,
    );
    expect(alice.json).toMatchObject({ event: 'triggered', step: 1, page: { title: 'FeedErrors' } });
    // The signature verifies with the key the admin API hands out.
    const { secret } = await fleet.json<{ secret: string }>('/api/v1/notifications/signing-secret');
    const timestamp = String(alice.headers['x-opsdeck-timestamp']);
    const expected = createHmac('sha256', Buffer.from(secret, 'base64')).update(`${timestamp}.${alice.body}`).digest('hex');
    expect(alice.headers['x-opsdeck-signature']).toBe(`v1=${expected}`);

    // Nobody acknowledges: the secondary gets an email and a webhook after the step delay.
    const bob = await waitFor(
      'the secondary is paged',
      async () => hooks.find((h) => h.path === '/bob' && h.json.page.id === page.id),
      30_000,
    );
    expect(bob.json).toMatchObject({ event: 'escalated', step: 2 });
    expect(bob.at - alice.at).toBeGreaterThanOrEqual(STEP * 1000 - 500);
    const mail = await waitFor(
      'the email',
      async () => mails.find((m) => m.to === 'bob@example.com' && m.raw.includes('FeedErrors')),
      20_000,
    );
    expect(mail.raw).toMatch(/Content-Type: text\/plain/i);
    expect(mail.raw).toMatch(/Content-Type: text\/html/i);

    // Bob acknowledges through his link: GET shows a confirmation and acts on nothing, POST acts.
    const link = bob.json.links!.ack!;
    const form = await fetch(link);
    expect(form.status).toBe(200);
    expect((await pageDetail(page.id)).status).toBe('triggered');
    const acted = await fetch(link, { method: 'POST' });
    expect(acted.status).toBe(200);
    expect(await pageDetail(page.id)).toMatchObject({ status: 'acknowledged' });
    const altered = await fetch(`${link.slice(0, -3)}abc`, { method: 'POST' });
    expect(altered.status).toBe(403);
    expect(await altered.text()).toMatch(/altered/);
    const before = hooks.length;
    await new Promise((r) => setTimeout(r, (STEP + 2) * 1000));
    expect(hooks.length).toBe(before);
  }, 90_000);

  it('keeps escalating on time across a kill -9 and notifies nobody twice', async () => {
    await fire('FeedLatency');
    const page = await pageOf('FeedLatency');
    await waitFor('the primary is paged', async () => hooks.find((h) => h.path === '/alice' && h.json.page.id === page.id), 20_000);
    await Fleet.kill9(fleet.server);
    await new Promise((r) => setTimeout(r, 1000));
    await fleet.startServer();
    const bob = await waitFor(
      'the secondary is paged after the restart',
      async () => hooks.find((h) => h.path === '/bob' && h.json.page.id === page.id),
      30_000,
    );
    const detail = await pageDetail(page.id);
    const escalated = detail.timeline.find((t) => t.type === 'escalated')!;
    // Due STEP s after the trigger; the restart may delay it by its own length, not more.
    expect(escalated.at).toBeGreaterThanOrEqual(detail.triggeredAt + STEP * 1000);
    expect(escalated.at - (detail.triggeredAt + STEP * 1000)).toBeLessThan(10_000);
    expect(bob.json.step).toBe(2);
    await new Promise((r) => setTimeout(r, 2000));
    // One delivery per (page, step, person): a send cut short by the kill may be retried, but with
    // the same delivery id, which is what receivers deduplicate on.
    const perStep = new Map<string, Set<string>>();
    for (const h of hooks.filter((x) => x.json.page.id === page.id)) {
      const key = `${h.path}:${h.json.step}`;
      perStep.set(key, (perStep.get(key) ?? new Set()).add(String(h.headers['x-opsdeck-delivery'])));
    }
    expect(Object.fromEntries([...perStep].map(([k, ids]) => [k, ids.size]))).toEqual({ '/alice:1': 1, '/bob:2': 1 });
  }, 90_000);
});
