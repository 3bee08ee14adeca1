import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../modules/delivery/pipelines/delivery.test-support.js';
import { startTestServer, type TestServer } from '../testing/server.js';

const NOWHERE = { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' };

describe('alerts and integration commands', () => {
  it('refuses a bad --state with exit 2', async () => {
    expect(await runCli(NOWHERE, 'alerts', '--state', 'burning')).toMatchObject({ code: 2 });
    expect((await runCli(NOWHERE, 'alerts', 'ack')).code).toBe(2);
  });

  describe('against a server', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
      const res = await server.request('/api/v1/resources/apply', {
        method: 'POST',
        headers: { 'content-type': 'application/yaml' },
        body: `apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: web }
spec: { members: [] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec: { owner: web, tier: 2 }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: hook }
spec: { service: feed, type: generic }
`,
      });
      expect(res.status).toBe(200);
    });
    afterAll(() => server?.close());

    it('prints the intake URL, lists, shows, acknowledges and resolves a group', async () => {
      const url = await runCli(server.env, 'integration', 'url', 'hook');
      expect(url.code, url.stderr).toBe(0);
      const intake = url.stdout.split('\n')[0]!;
      expect(intake).toMatch(/\/api\/v1\/intake\/generic\/[0-9a-f]{32}$/);
      const sent = await fetch(intake, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'firing', title: 'Checkout failing', labels: { region: 'eu' } }),
      });
      expect(sent.status).toBe(200);

      const list = await runCli(server.env, 'alerts');
      expect(list.stdout).toMatch(/ID\s+STATUS\s+SERVICE/);
      const id = /alg_[0-9a-z]+/.exec(list.stdout)?.[0];
      expect(id).toBeDefined();
      expect(list.stdout).toContain('Checkout failing');
      const show = await runCli(server.env, 'alerts', 'show', id!);
      expect(show.stdout).toContain('firing   alertname=Checkout failing region=eu  (received 1×)');
      expect(show.stdout).toMatch(/what changed before it opened[\s\S]*resources\.service\.applied\s+Service\/feed/);
      expect((await runCli(server.env, 'alerts', 'ack', id!, '--reason', 'on it')).stdout).toBe(`${id} acknowledged\n`);
      expect((await runCli(server.env, 'alerts', 'resolve', id!)).stdout).toBe(`${id} resolved\n`);
      expect((await runCli(server.env, 'alerts')).stderr).toBe('no open alert groups\n');
      expect((await runCli(server.env, 'alerts', '--state', 'resolved', '-o', 'json')).stdout).toContain(id!);
    });

    it('adds, lists and expires silences', async () => {
      expect((await runCli(server.env, 'silence', 'add', 'alertname=Noisy', '--duration', 'soon', '--comment', 'x')).code).toBe(2);
      const added = await runCli(
        server.env,
        'silence',
        'add',
        'alertname=Noisy',
        'region=~"eu|us"',
        '--duration',
        '2h',
        '--comment',
        'flapping probe',
      );
      expect(added.code, added.stderr).toBe(0);
      const id = /sil_[0-9a-z]+/.exec(added.stdout)?.[0];
      expect(added.stdout).toContain('silences alertname="Noisy" region=~"eu|us" until');
      const list = await runCli(server.env, 'silence', 'list');
      expect(list.stdout).toContain(id!);
      expect(list.stdout).toContain('flapping probe');
      expect((await runCli(server.env, 'silence', 'expire', id!)).stdout).toBe(`${id} expired\n`);
      expect((await runCli(server.env, 'silence', 'list')).stderr).toBe('no silences\n');
      const again = await runCli(server.env, 'silence', 'expire', id!);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain('already expired');
    });
  });
});
