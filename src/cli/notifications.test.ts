import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../modules/delivery/pipelines/delivery.test-support.js';
import { type HttpSink, startHttpSink, startSmtpSink } from '../modules/oncall/notifications/notifications.test-support.js';
import { startTestServer, type TestServer } from '../testing/server.js';

const NOWHERE = { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' };

describe('notifications and notify commands', () => {
  it('refuses a test without --user, an unknown status, a bad limit and a bad timeout with exit 2', async () => {
    expect(await runCli(NOWHERE, 'notify', 'test')).toMatchObject({ code: 2 });
    expect(await runCli(NOWHERE, 'notify', 'test', '--user', 'alice', '--timeout', '30')).toMatchObject({ code: 2 });
    expect(await runCli(NOWHERE, 'notifications', 'log', '--status', 'lost')).toMatchObject({ code: 2 });
    expect(await runCli(NOWHERE, 'notifications', 'log', '--limit', '0')).toMatchObject({ code: 2 });
  });

  describe('against a server', () => {
    let server: TestServer;
    let sink: HttpSink;
    let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
    beforeAll(async () => {
      [sink, smtp] = await Promise.all([startHttpSink(), startSmtpSink()]);
      process.env.OPSDECK_SMTP_URL = smtp.url;
      sink.always.set('/gone', 410);
      server = await startTestServer();
      const res = await server.request('/api/v1/resources/apply', {
        method: 'POST',
        headers: { 'content-type': 'application/yaml' },
        body: `apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: alice }
spec:
  email: alice@example.com
  timeZone: UTC
  contacts:
    - { name: hook, type: webhook, url: "${sink.base}/alice" }
    - { name: mail, type: email, address: alice@example.com }
---
apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: bob }
spec: { email: bob@example.com, timeZone: UTC, contacts: [ { name: old, type: webhook, url: "${sink.base}/gone" } ] }
`,
      });
      expect(res.status, await res.text()).toBe(200);
    });
    afterAll(async () => {
      delete process.env.OPSDECK_SMTP_URL;
      await server?.destroy();
      await Promise.all([sink.close(), smtp.close()]);
    });

    it('sends a test to every contact and reports each outcome, then shows it in the log', async () => {
      const sent = await runCli(server.env, 'notify', 'test', '--user', 'alice');
      expect(sent.code, sent.stderr).toBe(0);
      const lines = sent.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^hook \(webhook\) {2}ntf_[0-9a-z]+ {2}sent in \d+ ms$/);
      expect(lines[1]).toMatch(/^mail \(email\) {2}ntf_[0-9a-z]+ {2}sent in \d+ ms$/);
      expect(sink.on('/alice')).toHaveLength(1);
      expect(smtp.mails.map((m) => m.to)).toEqual(['alice@example.com']);

      const log = await runCli(server.env, 'notifications', 'log', '--user', 'alice');
      expect(log.code, log.stderr).toBe(0);
      expect(log.stdout).toMatch(/^ID\s+STATUS\s+PAGE\s+USER\s+EVENT\s+ATTEMPTS\s+CREATED\s+LAST ERROR/);
      expect(log.stdout).toMatch(/ntf_\S+\s+sent\s+-\s+alice\s+test\s+hook 200\s/);
      expect(log.stdout).toMatch(/ntf_\S+\s+sent\s+-\s+alice\s+test\s+mail ok\s/);
      const json = JSON.parse((await runCli(server.env, 'notifications', 'log', '-o', 'json')).stdout) as { id: string }[];
      expect(json).toHaveLength(2);
      const show = await runCli(server.env, 'notifications', 'show', json[0]!.id);
      expect(show.stdout).toMatch(/#\s+AT\s+CONTACT\s+DESTINATION\s+OUTCOME\s+CODE\s+MS\s+ERROR/);
      expect(show.stdout).toMatch(/1\s+\S+Z\s+\w+ \((webhook|email)\)\s+\S+\s+sent/);
      expect((await runCli(server.env, 'notifications', 'log', '--page', 'pag_none')).stderr).toBe('no notifications\n');
    });

    it('exits 1 when a contact does not work, and names the field for an unknown user', async () => {
      const failed = await runCli(server.env, 'notify', 'test', '--user', 'bob', '--contact', 'old');
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/^old \(webhook\) {2}ntf_\S+ {2}failed: HTTP 410: error\n$/);
      const log = await runCli(server.env, 'notifications', 'log', '--status', 'failed');
      expect(log.stdout).toMatch(/failed\s+-\s+bob\s+test\s+old 410\s+.*HTTP 410: error/);
      const queued = await runCli(server.env, 'notify', 'test', '--user', 'alice', '--contact', 'hook', '--no-wait', '-o', 'json');
      expect(queued.code).toBe(0);
      expect(JSON.parse(queued.stdout)).toMatchObject({ items: [{ contact: 'hook', status: 'queued' }] });
      const unknown = await runCli(server.env, 'notify', 'test', '--user', 'ghost');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/\/user/);
      const contact = await runCli(server.env, 'notify', 'test', '--user', 'alice', '--contact', 'pager');
      expect(contact.stderr).toMatch(/\/contact/);
    });
  });
});
