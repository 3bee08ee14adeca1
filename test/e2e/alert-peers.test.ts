import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupView } from '../../src/modules/alerting/groups/groups.routes.js';
import type { IntegrationUrl } from '../../src/modules/alerting/integrations/integrations.routes.js';
import { freePort, waitFor } from '../../src/testing/fleet.js';
import { startTestServer, type TestServer } from '../../src/testing/server.js';

// opsdeck against the real peers: Debian's Alertmanager delivering its webhook to opsdeck, and
// Debian's Prometheus scraping a fixture, evaluating a rule and sending its alerts to opsdeck as
// it would to an Alertmanager. Both are started here on free loopback ports.

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const PROMETHEUS = '/usr/bin/prometheus';

for (const bin of [ALERTMANAGER, PROMETHEUS]) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install prometheus prometheus-alertmanager (.ci/run does)`);
}

function start(bin: string, args: string[], dir: string): ChildProcess {
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  child.on('exit', (code) => {
    if (code && code !== 0 && code !== 143) console.error(`${bin} exited ${code}:\n${log}`);
  });
  return child;
}

const SETUP = `apiVersion: opsdeck.dev/v1
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
metadata: { name: am }
spec: { service: feed, type: alertmanager }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: prom }
spec: { service: feed, type: prometheus }
`;

describe('alerting with real Alertmanager and Prometheus', () => {
  let server: TestServer;
  let dir: string;
  const children: ChildProcess[] = [];
  let fixture: Server;
  let queueDepth = 50;

  const groups = async () => ((await (await server.request('/api/v1/alert-groups?limit=50')).json()) as { items: GroupView[] }).items;
  const group = async (id: string) => (await (await server.request(`/api/v1/alert-groups/${id}`)).json()) as GroupView;
  const url = async (name: string) => (await (await server.request(`/api/v1/integrations/${name}/url`)).json()) as IntegrationUrl;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsdeck-peers-'));
    server = await startTestServer();
    const applied = await server.request('/api/v1/resources/apply', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: SETUP,
    });
    expect(applied.status).toBe(200);
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGTERM');
    fixture?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Alertmanager's webhook opens a group, repeats dedup into it, a partial resolve resolves one alert, then the group resolves", async () => {
    const am = await url('am');
    const port = await freePort();
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      `route:
  receiver: opsdeck
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: opsdeck
    webhook_configs:
      - url: ${am.url}
        send_resolved: true
`,
    );
    children.push(
      start(
        ALERTMANAGER,
        [
          `--config.file=${join(dir, 'alertmanager.yml')}`,
          `--storage.path=${join(dir, 'am-data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--cluster.listen-address=',
        ],
        dir,
      ),
    );
    const amApi = `http://127.0.0.1:${port}/api/v2/alerts`;
    await waitFor(
      'Alertmanager ready',
      async () => (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.ok === true,
      20_000,
    );
    const post = (instance: string, endsInMs: number) =>
      fetch(amApi, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: { alertname: 'QueueBacklog', instance, service: 'feed' },
            annotations: { summary: 'queue backlog growing' },
            startsAt: new Date(Date.now() - 60_000).toISOString(),
            endsAt: new Date(Date.now() + endsInMs).toISOString(),
          },
        ]),
      });
    expect((await post('a', 3_600_000)).status).toBe(200);
    expect((await post('b', 3_600_000)).status).toBe(200);

    const opened = await waitFor(
      'a group with both alerts',
      async () => {
        const g = (await groups()).find((x) => x.source === 'alertmanager');
        return g && (await group(g.id)).alerts?.length === 2 ? g : undefined;
      },
      20_000,
    );
    expect(opened).toMatchObject({ integration: 'am', service: 'feed', status: 'open' });
    // repeat_interval 2s: the same notification arrives again and is folded in, not a new group.
    await waitFor('a repeated notification', async () => (await group(opened.id)).events >= 4, 20_000);
    expect((await groups()).filter((g) => g.source === 'alertmanager')).toHaveLength(1);

    // Resolve b at Alertmanager: the next notification carries it resolved; a keeps firing.
    expect((await post('b', -1000)).status).toBe(200);
    await waitFor(
      'b resolved, a still firing',
      async () => {
        const g = await group(opened.id);
        const by = Object.fromEntries((g.alerts ?? []).map((a) => [a.labels.instance, a.status]));
        return by.a === 'firing' && by.b === 'resolved' && g.status === 'open';
      },
      20_000,
    );
    expect((await post('a', -1000)).status).toBe(200);
    await waitFor('the group resolved', async () => (await group(opened.id)).status === 'resolved', 20_000);
  }, 90_000);

  it('Prometheus scrapes a fixture, fires a rule and sends it to /api/v2/alerts; the group resolves when the rule does', async () => {
    const prom = await url('prom');
    fixture = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# TYPE fixture_queue_depth gauge\nfixture_queue_depth ${queueDepth}\n`);
    });
    fixture.listen(0, '127.0.0.1');
    await new Promise((r) => fixture.once('listening', r));
    const fixturePort = (fixture.address() as AddressInfo).port;
    const opsdeck = new URL(server.url);
    writeFileSync(
      join(dir, 'rules.yml'),
      `groups:
  - name: fixture
    interval: 1s
    rules:
      - alert: QueueTooDeep
        expr: fixture_queue_depth > 10
        labels: { severity: page }
        annotations: { summary: "queue depth {{ $value }}" }
`,
    );
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [${join(dir, 'rules.yml')}]
scrape_configs:
  - job_name: fixture
    static_configs: [{ targets: ["127.0.0.1:${fixturePort}"] }]
alerting:
  alertmanagers:
    - api_version: v2
      scheme: http
      authorization: { credentials: "${prom.key}" }
      static_configs: [{ targets: ["${opsdeck.host}"] }]
`,
    );
    const port = await freePort();
    children.push(
      start(
        PROMETHEUS,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'prom-data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--rules.alert.resend-delay=1s',
        ],
        dir,
      ),
    );
    const fired = await waitFor(
      'a group from Prometheus',
      async () => (await groups()).find((g) => g.source === 'prometheus' && g.status === 'open'),
      40_000,
    );
    const detail = await group(fired.id);
    expect(detail).toMatchObject({ integration: 'prom', groupLabels: { alertname: 'QueueTooDeep' } });
    expect(detail.alerts?.[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'QueueTooDeep', severity: 'page', job: 'fixture' },
      annotations: { summary: 'queue depth 50' },
    });

    queueDepth = 0;
    await waitFor('the group resolved by Prometheus', async () => (await group(fired.id)).status === 'resolved', 40_000);
  }, 90_000);
});
