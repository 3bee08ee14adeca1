import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, fixtureServiceYaml, freePort, waitFor } from '../../src/testing/fleet.js';
import { runLoad, startLoad } from '../../src/testing/load.js';

// Blue-green and a canary that never gets traffic, through real processes: a control plane
// (`opsdeck server --no-agent`) and an agent whose router carries the requests.

interface LogEntry {
  type: string;
  step: number | null;
  message: string;
}
interface RolloutView {
  id: string;
  version: string;
  phase: 'Progressing' | 'Paused' | 'Succeeded' | 'Aborted';
  pauseReason: string | null;
  step: number;
  rollbackOf: string | null;
  weights: Record<string, number>;
  log: LogEntry[];
  analysis: { mode: string; phase: string; reason: string | null }[];
}
interface VersionView {
  version: string;
  weight: number;
  desiredInstances: number;
  readyInstances: number;
}

const blueGreenYaml = (port: number) =>
  fixtureServiceYaml({
    name: 'shop',
    team: 'web',
    port,
    extraSpec: `  delivery:
    strategy:
      blueGreen:
        previewHeader: true
        autoPromotionEnabled: false
        analysis: none
        scaleDownDelaySeconds: 600
        progressDeadlineSeconds: 60
`,
  });

// Nobody sends this service requests while it rolls out: its inline analysis sees no traffic at
// all and must end Inconclusive and wait, not pass.
const quietYaml = (port: number) =>
  fixtureServiceYaml({
    name: 'quiet',
    team: 'ops',
    port,
    extraSpec: `  delivery:
    strategy:
      canary:
        steps:
          - setWeight: 20
          - analysis: { templates: [builtin], args: { interval: 1s, count: "3" } }
          - setWeight: 100
        analysis: none
        progressDeadlineSeconds: 60
`,
  });

describe('delivery through the agent: blue-green and a canary without traffic', () => {
  const fleet = new Fleet();
  let shop: string;
  let quiet: string;

  const rollout = (service: string) => fleet.json<RolloutView>(`/api/v1/services/${service}/rollout`);
  const versions = (service: string) => fleet.json<{ items: VersionView[] }>(`/api/v1/services/${service}/versions`).then((r) => r.items);
  const act = (service: string, verb: string, reason: string) =>
    fleet.api(`/api/v1/services/${service}/rollout/${verb}`, { method: 'POST', json: { reason } });
  const serving = async (service: string, version: string, instances: number) =>
    (await versions(service)).some((v) => v.version === version && v.weight === 100 && v.readyInstances >= instances);

  const onlyVersion = async (version: string) => {
    const probe = await runLoad(shop, { count: 50 });
    return probe.failures === 0 && [...probe.versions.keys()].join() === version;
  };

  /** Steady traffic (6 clients) until the returned stop() is called. */
  const traffic = (url: string) => startLoad(`${url}?sleep=2`, { concurrency: 6 });

  beforeAll(async () => {
    await fleet.start();
    const [p1, p2] = [await freePort(), await freePort()];
    shop = `http://127.0.0.1:${p1}/shop`;
    quiet = `http://127.0.0.1:${p2}/quiet`;
    await fleet.apply(`${blueGreenYaml(p1)}---\n${quietYaml(p2)}`);
    await waitFor('shop 1.0.0 serving', () => serving('shop', '1.0.0', 2), 30_000);
    await waitFor('quiet 1.0.0 serving', () => serving('quiet', '1.0.0', 2), 30_000);
  }, 90_000);
  afterAll(() => fleet.stop(), 60_000);

  it('previews the new version by header, switches all traffic at once, and undoes the switch instantly', async () => {
    expect((await fleet.api('/api/v1/services/shop/deploy', { method: 'POST', json: { version: '1.1.0' } })).status).toBe(201);
    await waitFor(
      'the blue-green rollout to wait for promotion',
      async () => {
        const r = await rollout('shop');
        return r.version === '1.1.0' && r.phase === 'Paused' && r.pauseReason === 'step' ? r : undefined;
      },
      30_000,
    );
    // Before the switch: ordinary traffic stays on 1.0.0; the preview header reaches 1.1.0 at full size.
    const before = await runLoad(shop, { count: 100 });
    expect(before.failures).toBe(0);
    expect([...before.versions.keys()]).toEqual(['1.0.0']);
    const preview = await runLoad(shop, { count: 50, headers: () => ({ 'x-opsdeck-version': '1.1.0' }) });
    expect(preview.failures).toBe(0);
    expect([...preview.versions.keys()]).toEqual(['1.1.0']);
    expect((await versions('shop')).find((v) => v.version === '1.1.0')?.readyInstances).toBe(2);

    // The switch under load: no failed request, and afterwards everything on 1.1.0.
    let stop = traffic(shop);
    expect((await act('shop', 'promote', 'preview looks right')).status).toBe(200);
    await waitFor('the switch', async () => (await rollout('shop')).phase === 'Succeeded', 30_000);
    let load = await stop();
    expect(load.failures).toBe(0);
    // The agent applies the new desired state asynchronously: every request lands on 1.1.0 once it has.
    await waitFor('the router to send everything to 1.1.0', () => onlyVersion('1.1.0'), 10_000);
    // 1.0.0 keeps its instances for the rollback window.
    const old = (await versions('shop')).find((v) => v.version === '1.0.0');
    expect(old).toMatchObject({ weight: 0, desiredInstances: 2, readyInstances: 2 });

    // Undo is a switch back: nothing to start, so nothing to wait for.
    stop = traffic(shop);
    expect((await act('shop', 'undo', 'checkout errors after the switch')).status).toBe(200);
    const undone = await waitFor(
      'the rollback to finish',
      async () => {
        const r = await rollout('shop');
        return r.rollbackOf !== null && r.phase === 'Succeeded' ? r : undefined;
      },
      30_000,
    );
    load = await stop();
    expect(load.failures).toBe(0);
    expect(undone).toMatchObject({ version: '1.0.0', weights: { '1.0.0': 100 } });
    expect(undone.log.filter((l) => l.type === 'waiting')).toEqual([]);
    await waitFor('the router to send everything back to 1.0.0', () => onlyVersion('1.0.0'), 10_000);
  });

  it('calls an analysis without traffic Inconclusive and waits for a person, then goes on when resumed', async () => {
    expect((await fleet.api('/api/v1/services/quiet/deploy', { method: 'POST', json: { version: '1.1.0' } })).status).toBe(201);
    const waiting = await waitFor(
      'the quiet canary to pause as inconclusive',
      async () => {
        const r = await rollout('quiet');
        return r.version === '1.1.0' && r.phase === 'Paused' ? r : undefined;
      },
      30_000,
    );
    expect(waiting.pauseReason).toBe('inconclusive');
    expect(waiting.step).toBe(1);
    expect(waiting.analysis.at(-1)).toMatchObject({ mode: 'inline', phase: 'Inconclusive' });
    expect(waiting.log.at(-1)?.message).toMatch(/Inconclusive: .*Paused for a person/);
    // It stays there: a verdict without data is not a pass.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await rollout('quiet')).toMatchObject({ phase: 'Paused', step: 1 });

    expect((await act('quiet', 'resume', 'no users on this path yet; checked by hand')).status).toBe(200);
    const done = await waitFor(
      'the quiet rollout to finish',
      async () => {
        const r = await rollout('quiet');
        return r.phase === 'Succeeded' || r.phase === 'Aborted' ? r : undefined;
      },
      30_000,
    );
    expect(done.phase).toBe('Succeeded');
    await waitFor('quiet 1.1.0 serving', () => serving('quiet', '1.1.0', 2), 30_000);
    await waitFor(
      'the router to send everything to 1.1.0',
      async () => {
        const probe = await runLoad(quiet, { count: 50 });
        return probe.failures === 0 && [...probe.versions.keys()].join() === '1.1.0';
      },
      10_000,
    );
  });
});
