import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { startAlertmanager } from '../src/testing/alertmanager.js';
import { Fleet } from '../src/testing/fleet.js';
import type { BenchResult } from './harness.js';

// Sustained alert intake: Alertmanager webhooks into opsdeck (each one a group of alerts that
// are already open, i.e. the dedup path after the first round), side by side with a real
// Alertmanager ingesting the same alerts through its own API in the same run. Latency is from
// the request arriving to the response, which opsdeck sends after the group is written and its
// notification timer armed ("routed").

const GROUPS = Number(process.env.BENCH_INTAKE_GROUPS ?? 200);
const ALERTS_PER_GROUP = Number(process.env.BENCH_INTAKE_ALERTS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_INTAKE_CONNECTIONS ?? 20);
const DURATION_S = Number(process.env.BENCH_INTAKE_SECONDS ?? 15);

function load(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))));
}

const labelsOf = (g: number, a: number) => ({ alertname: `Bench${g}`, service: 'bench', instance: `i-${a}`, severity: 'warning' });
const startsAt = new Date().toISOString();

function webhookBody(g: number): string {
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="Bench${g}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'opsdeck',
    groupLabels: { alertname: `Bench${g}` },
    commonLabels: { alertname: `Bench${g}`, service: 'bench' },
    commonAnnotations: { summary: `bench group ${g}` },
    externalURL: 'http://alertmanager',
    alerts: Array.from({ length: ALERTS_PER_GROUP }, (_, a) => ({
      status: 'firing',
      labels: labelsOf(g, a),
      annotations: { summary: `bench group ${g}` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: `g${g}a${a}`,
    })),
  });
}

function postableBody(g: number): string {
  const endsAt = new Date(Date.now() + 3_600_000).toISOString();
  return JSON.stringify(
    Array.from({ length: ALERTS_PER_GROUP }, (_, a) => ({
      labels: labelsOf(g, a),
      annotations: { summary: `bench group ${g}` },
      startsAt,
      endsAt,
    })),
  );
}

function row(target: string, r: autocannon.Result): Record<string, string | number> {
  return {
    target,
    'requests/s': Math.round(r.requests.average),
    'alerts/s': Math.round(r.requests.average * ALERTS_PER_GROUP),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

export async function run(): Promise<BenchResult> {
  const loadAtStart = loadavg();
  const fleet = new Fleet();
  let am: { url: string; stop(): void } | undefined;
  try {
    await fleet.startServer();
    await fleet.apply(`apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: bench }
spec: { members: [] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: bench }
spec: { owner: bench, tier: 2 }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: am }
spec: { service: bench, type: alertmanager }
`);
    const { url } = await fleet.json<{ url: string }>('/api/v1/integrations/am/url');
    const bodies = Array.from({ length: GROUPS }, (_, g) => webhookBody(g));
    // First round: every group opens (not measured), then the steady state of repeats.
    for (const body of bodies) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (!res.ok) throw new Error(`warm-up webhook: ${res.status} ${await res.text()}`);
    }
    let n = 0;
    const opsdeck = await load({
      url,
      method: 'POST',
      connections: CONNECTIONS,
      duration: DURATION_S,
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (req) => ({ ...req, body: bodies[n++ % GROUPS] }) }],
    });
    const groups = await fleet.json<{ items: unknown[] }>('/api/v1/alert-groups?limit=1000&status=active');

    am = await startAlertmanager(
      'route: { receiver: blackhole, group_by: [alertname], group_wait: 30s, group_interval: 5m, repeat_interval: 4h }\nreceivers: [{ name: blackhole }]\n',
    );
    const amUrl = am.url;
    const amBodies = Array.from({ length: GROUPS }, (_, g) => postableBody(g));
    for (const body of amBodies)
      await fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    let m = 0;
    const peer = await load({
      url: `${amUrl}/api/v2/alerts`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: DURATION_S,
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (req) => ({ ...req, body: amBodies[m++ % GROUPS] }) }],
    });

    const rows = [row('opsdeck (SQLite): Alertmanager webhook, dedup path', opsdeck), row('Alertmanager 0.25: POST /api/v2/alerts', peer)];
    rows.push({
      target: 'ratio opsdeck / Alertmanager',
      'requests/s': Number((opsdeck.requests.average / peer.requests.average).toFixed(2)),
    });
    return {
      name: 'intake',
      rows,
      notes: [
        `${GROUPS} groups × ${ALERTS_PER_GROUP} alerts, every request a whole group (already open after a warm-up round, so each is a dedup); ${CONNECTIONS} connections for ${DURATION_S} s per target; autocannon in this process, each server in its own.`,
        `opsdeck answers after the group is written and its notification timer armed: its latency is "webhook received → group routed". Alertmanager answers after its in-memory alert store took the alerts (it writes snapshots to disk every 15 min).`,
        `Open groups in opsdeck after the run: ${groups.items.length} (expected ${GROUPS}: no duplicates).`,
        `Targets (issue 5): at least Alertmanager's rate (≥ 1×) and p99 ≤ 20 ms. Machine: loadavg at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}.`,
      ],
    };
  } finally {
    am?.stop();
    await fleet.stop();
  }
}
