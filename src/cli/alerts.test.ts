import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

    it('imports a Prometheus rule file as AlertRule resources, as is, and refuses recording rules naming them', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'opsdeck-rules-'));
      const file = join(dir, 'rules.yml');
      writeFileSync(
        file,
        `groups:
  - name: Feed SLOs
    interval: 30s
    rules:
      - alert: FeedHighErrorRatio
        expr: sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.01
        for: 2m
        labels: { severity: page }
        annotations: { summary: "feed errors at {{ $value | humanizePercentage }}" }
  - name: feed-latency
    rules:
      - alert: FeedSlow
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5
`,
      );
      const imported = await runCli(server.env, 'rules', 'import', file, '--service', 'feed');
      expect(imported.stderr).toBe('');
      expect(imported.stdout).toBe('AlertRule/feed-slos created\nAlertRule/feed-latency created\n');
      const rules = (await (await server.request('/api/v1/rules')).json()) as {
        data: { groups: { name: string; interval: number; rules: { name: string; duration: string }[] }[] };
      };
      expect(rules.data.groups.map((g) => [g.name, g.interval, g.rules.map((r) => [r.name, r.duration])])).toEqual([
        ['feed-latency', 15, [['FeedSlow', '0s']]],
        ['feed-slos', 30, [['FeedHighErrorRatio', '2m']]],
      ]);

      const recording = await server.request('/api/v1/rules/import', {
        method: 'POST',
        json: { groups: [{ name: 'rec', rules: [{ record: 'job:errors:rate5m', expr: 'sum(rate(x[5m]))' }] }] },
      });
      expect(recording.status).toBe(400);
      expect(JSON.stringify(await recording.json())).toContain('/groups/0/rules/0/record');
      const broken = await server.request('/api/v1/rules/import', {
        method: 'POST',
        json: { groups: [{ name: 'broken', rules: [{ alert: 'X', expr: 'sum(' }] }] },
      });
      expect(broken.status).toBe(400);
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
