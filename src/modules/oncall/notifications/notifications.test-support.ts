import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { expect } from 'vitest';
import { FakeClock } from '../../../core/clock.js';
import type { DialectName } from '../../../core/db/database.js';
import { transaction } from '../../../core/db/database.js';
import { startTestServer, type TestServer } from '../../../testing/server.js';
import type { Contact } from '../../catalog/index.js';
import type { DeliveryRequest, NotificationMessage, NotificationsApi } from '../contracts.js';
import type { OncallApi } from '../index.js';
import type { DeliveryView } from './delivery-log.js';

export const T0 = Date.parse('2026-05-04T10:00:00Z');

export interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver: records every request; answers from a per-path script of statuses, then `fallback`. */
export interface HttpSink {
  base: string;
  hits: Hit[];
  script: Map<string, number[]>;
  /** Answer for paths whose script is empty (default 200). */
  always: Map<string, number>;
  on(path: string): Hit[];
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const hits: Hit[] = [];
  const script = new Map<string, number[]>();
  const always = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      hits.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = script.get(path)?.shift() ?? always.get(path) ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : status === 404 ? 'no_service' : 'error');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    script,
    always,
    on: (path) => hits.filter((h) => h.path === path),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Mail {
  to: string;
  raw: string;
}

/** A real SMTP server (no TLS, no auth) keeping each message's raw text. */
export async function startSmtpSink(): Promise<{ url: string; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
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
  return {
    url: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
    mails,
    close: () => new Promise<void>((r) => smtp.close(() => r())),
  };
}

export const message: NotificationMessage = {
  event: 'triggered',
  pageId: 'pag_test',
  title: 'Feed errors <5xx>',
  summary: 'Error ratio above 5% for 5m',
  service: 'feed',
  urgency: 'high',
  step: 1,
  round: 1,
  paged: ['alice', 'bob'],
  changes: [{ at: T0 - 60_000, type: 'delivery.rollout.step', service: 'feed', subject: 'feed', summary: 'rollout step 2 of feed 1.1.0' }],
  links: {
    ack: 'http://opsdeck.example/a/ack',
    resolve: 'http://opsdeck.example/a/resolve',
    view: 'http://opsdeck.example/pages/pag_test',
  },
  at: T0,
};

export function usersYaml(base: string, tag: string): string {
  return `apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: alice }
spec:
  email: alice@example.com
  timeZone: UTC
  contacts:
    - { name: hook, type: webhook, url: "${base}/alice-${tag}" }
    - { name: chat, type: slack, url: "${base}/slack-${tag}" }
    - { name: mail, type: email, address: alice-${tag}@example.com }
---
apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: nobody }
spec: { email: nobody@example.com, timeZone: UTC }
`;
}

export interface Harness {
  server: TestServer;
  clock: FakeClock;
  api: NotificationsApi;
  enqueue(key: string, contacts: Contact[], extra?: Partial<DeliveryRequest>): Promise<boolean>;
  log(query?: string): Promise<DeliveryView[]>;
  /** Runs due jobs, then moves the clock by `stepMs`, until `done` holds (on PostgreSQL the background worker may claim first). */
  until(done: () => Promise<boolean> | boolean, stepMs?: number): Promise<void>;
}

/** A test server on a fake clock with alice (webhook, slack, email) and nobody (no contacts). */
export async function startHarness(dialect: DialectName, sinkBase: string, tag: string): Promise<Harness> {
  const clock = new FakeClock(T0);
  const server = await startTestServer({ dialect, clock });
  const res = await server.request('/api/v1/resources/apply', {
    method: 'POST',
    headers: { 'content-type': 'application/yaml' },
    body: usersYaml(sinkBase, tag),
  });
  expect(res.status, await res.text()).toBe(200);
  const api = (server.modules as { oncall: OncallApi }).oncall.notifications;
  return {
    server,
    clock,
    api,
    enqueue: (key, contacts, extra = {}) =>
      transaction(server.core.db, (tx) =>
        api.enqueue(tx, { idempotencyKey: key, pageId: 'pag_test', user: 'alice', contacts, message, ...extra }),
      ),
    async log(query = '') {
      const r = await server.request(`/api/v1/notifications${query}`);
      expect(r.status).toBe(200);
      return ((await r.json()) as { items: DeliveryView[] }).items;
    },
    async until(done, stepMs = 0) {
      for (let i = 0; i < 300; i++) {
        await server.core.jobs.runDue();
        if (await done()) return;
        // Steps stay under the send job's lease (15 s) so a running send is never reclaimed.
        clock.advance(stepMs);
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('condition not reached');
    },
  };
}
