import { createServer, type Server } from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startAlertmanager } from '../src/testing/alertmanager.js';
import { Fleet, freePort, waitFor } from '../src/testing/fleet.js';
import { type BenchResult, percentile } from './harness.js';

// Paging: (1) alerts arriving at RATE/s for SECONDS, each its own alert group, timed from the
// alert leaving this process to the first webhook notification arriving back at a local sink —
// opsdeck (intake → group → route → page → personal rule → delivery queue → webhook) side by side
// with a real Alertmanager (API → group_wait 0s → webhook receiver) on the same sink in the same
// run; (2) ESCALATIONS pages all waiting on the same step timer, and how late each step fired.

const RATE = Number(process.env.BENCH_PAGING_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_PAGING_SECONDS ?? 10);
const ESCALATIONS = Number(process.env.BENCH_PAGING_ESCALATIONS ?? 1000);
const STEP_S = Number(process.env.BENCH_PAGING_STEP_SECONDS ?? 20);

/** A webhook sink that notes when each title first arrived (performance.now(), same clock as the sender). */
async function sink(titleOf: (body: unknown) => string[]): Promise<{ url: string; first: Map<string, number>; server: Server }> {
  const first = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      try {
        for (const t of titleOf(JSON.parse(Buffer.concat(chunks).toString('utf8')))) if (!first.has(t)) first.set(t, at);
      } catch {
        // Not JSON: not ours.
      }
      res.writeHead(200).end('ok');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, first, server };
}

/** Sends `RATE` alerts a second for `SECONDS`, paced, and returns when each left. */
async function paced(send: (i: number) => Promise<unknown>): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  const total = RATE * SECONDS;
  const start = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    sent.set(`Bench${i}`, performance.now());
    inflight.push(send(i));
  }
  await Promise.all(inflight);
  return sent;
}

function latencies(sent: Map<string, number>, first: Map<string, number>) {
  const ms = [...sent].flatMap(([t, at]) => (first.has(t) ? [first.get(t)! - at] : []));
  return { delivered: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) };
}

const round = (n: number) => Math.round(n * 10) / 10;

export async function run(): Promise<BenchResult> {
  const loadAtStart = loadavg();
  const fleet = new Fleet();
  let am: { url: string; stop(): void } | undefined;
  const opsdeckSink = await sink((b) => [(b as { page?: { title?: string } }).page?.title ?? '']);
  const amSink = await sink((b) => ((b as { alerts?: { labels: { alertname: string } }[] }).alerts ?? []).map((a) => a.labels.alertname));
  try {
    await fleet.startServer();
    await fleet.apply(`apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: bench }
spec: { email: bench@example.com, timeZone: UTC, contacts: [ { name: hook, type: webhook, url: "${opsdeckSink.url}/bench" } ] }
---
apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: bench }
spec: { members: [bench] }
---
apiVersion: opsdeck.dev/v1
kind: EscalationPolicy
metadata: { name: bench }
spec: { steps: [ { notify: [ { user: bench } ], after: ${STEP_S}s }, { notify: [ { user: bench } ], after: 5m } ] }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: bench }
spec: { owner: bench, tier: 1, oncall: { escalationPolicy: bench } }
---
apiVersion: opsdeck.dev/v1
kind: Integration
metadata: { name: bench }
spec: { service: bench, type: generic }
---
apiVersion: opsdeck.dev/v1
kind: AlertRouting
metadata: { name: default }
spec: { route: { receiver: service, groupWait: 0s, groupInterval: 5m, repeatInterval: 4h } }
`);
    const { url } = await fleet.json<{ url: string }>('/api/v1/integrations/bench/url');
    const post = (target: string, body: unknown) =>
      fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
        if (!r.ok) throw new Error(`${target}: ${r.status} ${await r.text()}`);
      });
    const opsdeckSent = await paced((i) => post(url, { status: 'firing', title: `Bench${i}`, key: `bench-${i}` }));
    await waitFor('opsdeck notifications', async () => opsdeckSink.first.size >= opsdeckSent.size || undefined, 60_000).catch(
      () => undefined,
    );
    const opsdeck = latencies(opsdeckSent, opsdeckSink.first);

    const peerAm = await startAlertmanager(
      `route: { receiver: sink, group_by: [alertname], group_wait: 0s, group_interval: 5m, repeat_interval: 4h }\nreceivers: [{ name: sink, webhook_configs: [ { url: "${amSink.url}/am", send_resolved: false } ] }]\n`,
    );
    am = peerAm;
    const ends = new Date(Date.now() + 3_600_000).toISOString();
    const amSent = await paced((i) =>
      post(`${peerAm.url}/api/v2/alerts`, [{ labels: { alertname: `Bench${i}`, service: 'bench' }, endsAt: ends }]),
    );
    await waitFor('Alertmanager notifications', async () => amSink.first.size >= amSent.size || undefined, 60_000).catch(() => undefined);
    const peer = latencies(amSent, amSink.first);

    // Step timers: ESCALATIONS pages, each escalating STEP_S after it was triggered.
    const created: string[] = [];
    for (let i = 0; i < ESCALATIONS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, ESCALATIONS - i) }, (_, j) =>
          fleet.json<{ id: string }>('/api/v1/pages', { method: 'POST', json: { policy: 'bench', title: `Escalation${i + j}` } }),
        ),
      );
      created.push(...batch.map((p) => p.id));
    }
    const lags: number[] = [];
    await waitFor(
      'every page escalated',
      async () => {
        const { items } = await fleet.json<{ items: { step: number }[] }>(`/api/v1/pages?status=triggered&limit=1000`);
        return items.every((p) => p.step === 2) || undefined;
      },
      (STEP_S + 120) * 1000,
    );
    for (let i = 0; i < created.length; i += 50) {
      const pages = await Promise.all(
        created
          .slice(i, i + 50)
          .map((id) => fleet.json<{ triggeredAt: number; timeline: { type: string; at: number }[] }>(`/api/v1/pages/${id}`)),
      );
      for (const p of pages) {
        const escalated = p.timeline.find((t) => t.type === 'escalated');
        if (escalated) lags.push(escalated.at - (p.triggeredAt + STEP_S * 1000));
      }
    }

    const rows: Record<string, string | number>[] = [
      {
        measure: 'alert → first webhook, opsdeck (SQLite)',
        delivered: `${opsdeck.delivered}/${opsdeckSent.size}`,
        p50_ms: round(opsdeck.p50),
        p99_ms: round(opsdeck.p99),
        max_ms: round(opsdeck.max),
      },
      {
        measure: 'alert → first webhook, Alertmanager 0.25',
        delivered: `${peer.delivered}/${amSent.size}`,
        p50_ms: round(peer.p50),
        p99_ms: round(peer.p99),
        max_ms: round(peer.max),
      },
      { measure: 'p99 ratio opsdeck / Alertmanager', p99_ms: round(opsdeck.p99 / peer.p99) },
      {
        measure: `step-timer lag, ${ESCALATIONS} concurrent escalations`,
        delivered: `${lags.length}/${created.length}`,
        p50_ms: round(percentile(lags, 50)),
        p99_ms: round(percentile(lags, 99)),
        max_ms: round(Math.max(...lags)),
      },
    ];
    return {
      name: 'paging',
      rows,
      notes: [
        `${RATE} alerts/s for ${SECONDS} s, each a new alert group (opsdeck: generic webhook intake, routing groupWait 0s, the service's escalation policy, one webhook contact; Alertmanager: POST /api/v2/alerts, group_by alertname, group_wait 0s, webhook receiver). Both notify the same kind of local sink in this process; times are from the alert leaving this process to the first notification arriving.`,
        `opsdeck writes every step durably (group, notify timer, page, delivery row and job) before acting on it; Alertmanager keeps alerts and notification state in memory.`,
        `Step timers: ${ESCALATIONS} pages created in batches of 20, each escalating ${STEP_S} s after its trigger; lag = when the escalation ran minus when it was due (server clock).`,
        `Targets (issue 6): p99 ≤ 10 ms alert → first webhook on loopback; step-timer lag p99 ≤ 1 s. Machine: loadavg at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}.`,
      ],
    };
  } finally {
    am?.stop();
    await fleet.stop();
    opsdeckSink.server.close();
    amSink.server.close();
  }
}
