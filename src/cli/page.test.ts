import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../modules/delivery/pipelines/delivery.test-support.js';
import { startTestServer, type TestServer } from '../testing/server.js';

const NOWHERE = { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' };

describe('page, pages, ack and resolve commands', () => {
  it('refuses a page without a target, a bad urgency and an id of neither kind with exit 2', async () => {
    expect(await runCli(NOWHERE, 'page', '-m', 'help')).toMatchObject({ code: 2 });
    expect(await runCli(NOWHERE, 'page', '--user', 'alice', '-m', 'help', '--urgency', 'urgent')).toMatchObject({ code: 2 });
    const bad = await runCli(NOWHERE, 'ack', 'INC-1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a page id/);
  });

  describe('against a server', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
      const res = await server.request('/api/v1/resources/apply', {
        method: 'POST',
        headers: { 'content-type': 'application/yaml' },
        body: `apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: alice }
spec: { email: alice@example.com, timeZone: UTC, contacts: [ { name: hook, type: webhook, url: "http://127.0.0.1:9/alice" } ] }
---
apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: web }
spec: { members: [alice] }
---
apiVersion: opsdeck.dev/v1
kind: EscalationPolicy
metadata: { name: feed }
spec: { steps: [ { notify: [ { team: web } ], after: 5m } ] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec: { owner: web, oncall: { escalationPolicy: feed } }
`,
      });
      expect(res.status, await res.text()).toBe(200);
    });
    afterAll(() => server?.destroy());

    it('pages through a service, lists and shows the page, acknowledges and resolves it', async () => {
      const paged = await runCli(server.env, 'page', '--service', 'feed', '-m', 'Checkout is failing');
      expect(paged.code, paged.stderr).toBe(0);
      const id = /pag_[0-9a-z]{26}/.exec(paged.stdout)?.[0];
      expect(paged.stdout).toBe(`${id} triggered through feed (urgency high)\n`);
      const list = await runCli(server.env, 'pages');
      expect(list.stdout).toMatch(new RegExp(`${id}\\s+triggered\\s+feed\\s+feed\\s+1 \\(round 1\\)`));
      const show = await runCli(server.env, 'pages', 'show', id!);
      expect(show.stdout).toMatch(/notified\s+step 1 round 1: alice/);
      expect((await runCli(server.env, 'ack', id!)).stdout).toBe(`${id} acknowledged\n`);
      expect((await runCli(server.env, 'resolve', id!)).stdout).toBe(`${id} resolved\n`);
      expect((await runCli(server.env, 'pages')).stderr).toBe('no open pages\n');
      const direct = await runCli(server.env, 'page', '--user', 'alice', '-m', 'look at this', '--urgency', 'low', '-o', 'json');
      expect(JSON.parse(direct.stdout)).toMatchObject({ user: 'alice', urgency: 'low', policy: null });
      const unknown = await runCli(server.env, 'page', '--user', 'ghost', '-m', 'x');
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toMatch(/\/user/);
    });
  });
});
