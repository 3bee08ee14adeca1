import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../testing/databases.js';
import type { TestServer } from '../../../testing/server.js';
import type { DeliveryView } from './delivery-log.js';
import { type Harness, type HttpSink, startHarness, startHttpSink, startSmtpSink } from './notifications.test-support.js';

type ErrorBody = { error: { code: string; message: string; details?: { issues?: { pointer: string; message: string }[] } } };

async function createToken(server: TestServer, name: string, role: string): Promise<string> {
  const res = await server.request('/api/v1/tokens', { method: 'POST', json: { name, role } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

describe('notification routes', () => {
  let sink: HttpSink;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  beforeAll(async () => {
    [sink, smtp] = await Promise.all([startHttpSink(), startSmtpSink()]);
    process.env.OPSDECK_SMTP_URL = smtp.url;
  });
  afterAll(async () => {
    delete process.env.OPSDECK_SMTP_URL;
    await Promise.all([sink.close(), smtp.close()]);
  });

  describe.each(DIALECTS)('on %s', (dialect) => {
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.server.destroy();
      h = undefined;
    });

    it("sends a test to each of a user's contacts, or to one, audited, and shows it in the log", async () => {
      h = await startHarness(dialect, sink.base, `routes-${dialect}`);
      const res = await h.server.request('/api/v1/notifications/test', { method: 'POST', json: { user: 'alice' } });
      expect(res.status).toBe(202);
      const { items } = (await res.json()) as { items: DeliveryView[] };
      expect(items.map((d) => [d.contact, d.status, d.event])).toEqual([
        ['hook', 'queued', 'test'],
        ['chat', 'queued', 'test'],
        ['mail', 'queued', 'test'],
      ]);
      await h.until(async () => (await h!.log('?user=alice&status=sent')).length === 3);
      expect(JSON.parse(sink.on(`/alice-routes-${dialect}`)[0]!.body)).toMatchObject({ event: 'test', page: { id: null } });
      expect(JSON.parse(sink.on(`/slack-routes-${dialect}`)[0]!.body).text).toBe('TEST: Test notification for alice');
      expect(smtp.mails.filter((m) => m.to === `alice-routes-${dialect}@example.com`)).toHaveLength(1);

      const one = await h.server.request('/api/v1/notifications/test', { method: 'POST', json: { user: 'alice', contact: 'hook' } });
      const [only] = ((await one.json()) as { items: DeliveryView[] }).items;
      expect(only).toMatchObject({ contact: 'hook', chain: ['hook'] });
      const get = async () => (await (await h!.server.request(`/api/v1/notifications/${only!.id}`)).json()) as DeliveryView;
      await h.until(async () => (await get()).status === 'sent');
      const detail = await get();
      expect(detail.attempts).toMatchObject([{ n: 1, contact: 'hook', channel: 'webhook', outcome: 'sent', statusCode: 200 }]);
      expect(detail.attempts[0]!.destination).toBe(new URL(sink.base).host);

      const audit = (await (await h.server.request('/api/v1/audit?limit=10')).json()) as { items: { action: string; target: string }[] };
      expect(audit.items.filter((a) => a.action === 'oncall.notification.test').map((a) => a.target)).toEqual(['user/alice', 'user/alice']);
    });

    it('refuses bad input with 400 naming the field, unknown ids with 404, and checks roles', async () => {
      h = await startHarness(dialect, sink.base, `bad-${dialect}`);
      const server = h.server;
      const bad = async (path: string, init: Parameters<TestServer['request']>[1], pointer: string) => {
        const r = await server.request(path, init);
        const body = (await r.json()) as ErrorBody;
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(JSON.stringify(body.error)).toContain(pointer);
      };
      const test = (json: unknown) => ({ method: 'POST', json });
      await bad('/api/v1/notifications/test', test({ user: 'ghost' }), '/user');
      await bad('/api/v1/notifications/test', test({ user: 'nobody' }), '/user');
      await bad('/api/v1/notifications/test', test({ user: 'alice', contact: 'pager' }), '/contact');
      await bad('/api/v1/notifications/test', test({}), 'user');
      await bad('/api/v1/notifications/test', test({ user: 'alice', extra: 1 }), 'extra');
      await bad('/api/v1/notifications?status=lost', {}, 'status');
      await bad('/api/v1/notifications?limit=0', {}, 'limit');
      await bad('/api/v1/notifications/nope', {}, 'id');
      expect((await server.request('/api/v1/notifications/ntf_0000')).status).toBe(404);
      expect(await h.log()).toEqual([]);

      const viewer = await createToken(server, 'reader', 'viewer');
      expect((await server.request('/api/v1/notifications', { token: viewer })).status).toBe(200);
      expect((await server.request('/api/v1/notifications/signing-secret', { token: viewer })).status).toBe(403);
      expect((await server.request('/api/v1/notifications/test', { method: 'POST', json: { user: 'alice' }, token: viewer })).status).toBe(
        403,
      );
      const { secret } = (await (await server.request('/api/v1/notifications/signing-secret')).json()) as { secret: string };
      expect(Buffer.from(secret, 'base64')).toHaveLength(32);
    });
  });
});
