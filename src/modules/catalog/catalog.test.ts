import { Type } from '@sinclair/typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppError, FieldIssue } from '../../core/errors.js';
import { DIALECTS, openResourcesHarness, type ResourcesHarness, testActor } from '../../core/resources/testing.js';
import { registerCatalogKinds, serviceKind, teamKind, userKind } from './catalog.kinds.js';
import { type CatalogApi, createCatalog } from './catalog.service.js';
import { tierDefaults } from './tiers.js';

const CATALOG = `# Services first: a batch may name what it creates further down.
apiVersion: opsdeck.dev/v1
kind: Service
metadata:
  name: feed
  labels: { env: prod }
spec:
  owner: payments
  tier: 1
  dependsOn: [ranker, store]
  links:
    - { title: Runbook, url: "https://runbooks.example.com/feed" }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: ranker }
spec: { owner: payments, tier: 2, dependsOn: [store], rto: 10m }
---
apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: store }
spec: { owner: payments }
---
apiVersion: opsdeck.dev/v1
kind: Team
metadata: { name: payments }
spec:
  displayName: Payments
  members: [ana, bo]
  slack: "#payments"
---
apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: ana }
spec:
  email: ana@example.com
  timeZone: Europe/Berlin
  contacts:
    - { name: phone, type: sms, address: "+4915112345678" }
    - { name: hook, type: webhook, url: "https://hooks.example.com/ana" }
---
apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: bo }
spec: { email: bo@example.com, timeZone: America/New_York }
`;

const service = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'opsdeck.dev/v1',
  kind: 'Service',
  metadata: { name },
  spec,
});

async function issuesOf(promise: Promise<unknown>): Promise<FieldIssue[]> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as AppError | undefined;
  expect(error?.status).toBe(400);
  return (error!.details as { issues: FieldIssue[] }).issues;
}

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('tiers', () => {
  it('has the seed RTO/RPO table and rejects other tiers', () => {
    expect([1, 2, 3, 4, 5].map((t) => [tierDefaults(t).rto, tierDefaults(t).rpo, tierDefaults(t).strategy])).toEqual([
      ['5m', '0s', 'Active-active, instant failover'],
      ['15m', '5m', 'Warm standby, async replication'],
      ['30m', '0s', 'Regional failover'],
      ['1h', '0s', 'Cross-DC sync, strong consistency'],
      ['4h', '24h', 'Cold standby, daily backups'],
    ]);
    expect(tierDefaults(5)).toMatchObject({ rtoMs: 4 * 3_600_000, rpoMs: 24 * 3_600_000 });
    expect(() => tierDefaults(6)).toThrow(/1 to 5/);
  });
});

describe.each(DIALECTS)('catalog on %s', (dialect) => {
  let h: ResourcesHarness;
  let catalog: CatalogApi;

  beforeEach(async () => {
    h = await openResourcesHarness(dialect);
    registerCatalogKinds(h.resources);
    catalog = createCatalog(h.resources);
  });
  afterEach(() => h.destroy());

  const applyFile = (content: string, name = 'catalog.yaml') => h.resources.apply({ files: [{ name, content }] }, testActor);
  const applyDocs = (...documents: unknown[]) => h.resources.apply({ documents }, testActor);

  it('applies a whole catalog in one batch, in any order, filling tier defaults', async () => {
    const results = await applyFile(CATALOG);
    expect(results.map((r) => `${r.kind}/${r.name} ${r.action}`)).toEqual([
      'Service/feed created',
      'Service/ranker created',
      'Service/store created',
      'Team/payments created',
      'User/ana created',
      'User/bo created',
    ]);
    expect((await catalog.getService('feed'))?.spec).toMatchObject({ tier: 1, rto: '5m', rpo: '0s', owner: 'payments' });
    expect((await catalog.getService('ranker'))?.spec).toMatchObject({ tier: 2, rto: '10m', rpo: '5m' });
    expect((await catalog.getService('store'))?.spec).toMatchObject({ tier: 3, rto: '30m', rpo: '0s' });
    expect((await catalog.getTeam('payments'))?.spec.members).toEqual(['ana', 'bo']);
    expect((await catalog.getUser('ana'))?.spec.timeZone).toBe('Europe/Berlin');
    expect((await catalog.listServices({ labels: { env: 'prod' } })).map((s) => s.metadata.name)).toEqual(['feed']);
    expect(await catalog.getService('nope')).toBeUndefined();

    // Re-applying the same file (defaults not written in it) changes nothing.
    expect((await applyFile(CATALOG)).every((r) => r.action === 'unchanged')).toBe(true);
    // A tier change moves the defaulted RTO/RPO with it.
    await applyDocs(service('store', { owner: 'payments', tier: 5 }));
    expect((await catalog.getService('store'))?.spec).toMatchObject({ tier: 5, rto: '4h', rpo: '24h' });

    const timeline = await h.events.list({ service: 'store', changesOnly: true });
    expect(timeline.map((e) => [e.type, (e.data as { generation: number }).generation])).toEqual([
      ['resources.service.applied', 1],
      ['resources.service.applied', 2],
    ]);
  });

  it('walks dependencies and dependents transitively', async () => {
    await applyFile(CATALOG);
    await applyDocs(service('web', { owner: 'payments', dependsOn: ['feed'] }));
    expect(await catalog.dependencies('web')).toEqual(['feed', 'ranker', 'store']);
    expect(await catalog.dependencies('store')).toEqual([]);
    expect(await catalog.dependents('store')).toEqual(['feed', 'ranker', 'web']);
    await expect(catalog.dependencies('nope')).rejects.toMatchObject({ status: 404, message: "Service 'nope' does not exist" });
  });

  it('reports a missing owner team and a missing member by name and location', async () => {
    const content = 'apiVersion: opsdeck.dev/v1\nkind: Service\nmetadata:\n  name: feed\nspec:\n  owner: payments\n';
    expect(await issuesOf(applyFile(content, 'feed.yaml'))).toEqual([
      {
        file: 'feed.yaml',
        document: 0,
        pointer: '/spec/owner',
        line: 6,
        column: 3,
        message: "Team 'payments' referenced at /spec/owner does not exist",
      },
    ]);
    const team = { apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'payments' }, spec: { members: ['ghost'] } };
    expect(await issuesOf(applyDocs(team))).toEqual([
      { document: 0, pointer: '/spec/members/0', message: "User 'ghost' referenced at /spec/members/0 does not exist" },
    ]);
  });

  it('explains schema problems in people terms', async () => {
    const content = `apiVersion: opsdeck.dev/v1
kind: Service
metadata: { name: feed }
spec:
  owner: payments
  tier: 7
  rto: 5 minutes
  tierr: 2
---
apiVersion: opsdeck.dev/v1
kind: User
metadata: { name: ana }
spec:
  email: ana.example.com
  timeZone: Mars/Olympus
  contacts:
    - { name: hook, type: webhook }
    - { name: hook, type: sms, address: "0151" }
    - { name: pager, type: pigeon }
`;
    const issues = await issuesOf(applyFile(content, 'bad.yaml'));
    expect(issues.map((i) => `${i.line}:${i.column} ${i.pointer}: ${i.message}`)).toEqual([
      `${lineOf(content, 'tier: 7')}:3 /spec/tier: must be integer from 1 to 5 (got 7)`,
      `${lineOf(content, 'rto')}:3 /spec/rto: must be a duration such as '0s', '30s', '5m', '1h30m' or '7d' (got '5 minutes')`,
      `${lineOf(content, 'tierr')}:3 /spec/tierr: unknown field 'tierr' (did you mean 'tier'?)`,
      `${lineOf(content, 'email')}:3 /spec/email: must be an email address such as ana@example.com (got 'ana.example.com')`,
      `${lineOf(content, 'timeZone')}:3 /spec/timeZone: must be an IANA time zone such as 'Europe/Berlin' or 'UTC' (got 'Mars/Olympus')`,
      `${lineOf(content, 'pigeon')}:22 /spec/contacts/2/type: must be one of 'webhook', 'email', 'slack', 'sms' (got 'pigeon')`,
    ]);
    // The semantic contact checks run once the schema holds.
    const user = {
      apiVersion: 'opsdeck.dev/v1',
      kind: 'User',
      metadata: { name: 'ana' },
      spec: {
        email: 'ana@example.com',
        timeZone: 'UTC',
        contacts: [
          { name: 'hook', type: 'webhook' },
          { name: 'hook', type: 'sms', address: '0151' },
          { name: 'mail', type: 'email', address: 'nope', url: 'https://x.example.com' },
        ],
      },
    };
    expect((await issuesOf(applyDocs(user))).map((i) => `${i.pointer}: ${i.message}`)).toEqual([
      "/spec/contacts/0/url: a webhook contact needs 'url'",
      "/spec/contacts/1/name: duplicate contact name 'hook'",
      "/spec/contacts/1/address: must be a phone number in E.164 form such as '+4915112345678'",
      "/spec/contacts/2/url: an email contact takes 'address', not 'url'",
      '/spec/contacts/2/address: must be an email address such as ana@example.com',
    ]);
  });

  it('rejects self-dependencies and dependency cycles, naming the cycle', async () => {
    await applyDocs({ apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'core' }, spec: { members: [] } });
    expect(await issuesOf(applyDocs(service('a', { owner: 'core', dependsOn: ['a'] })))).toEqual([
      { document: 0, pointer: '/spec/dependsOn/0', message: 'a service cannot depend on itself' },
    ]);
    // Within one batch: both ends report it.
    const inBatch = await issuesOf(
      applyDocs(service('a', { owner: 'core', dependsOn: ['b'] }), service('b', { owner: 'core', dependsOn: ['a'] })),
    );
    expect(inBatch.map((i) => [i.document, i.pointer, i.message])).toEqual([
      [0, '/spec/dependsOn/0', 'dependency cycle: a -> b -> a'],
      [1, '/spec/dependsOn/0', 'dependency cycle: b -> a -> b'],
    ]);
    // Closing a cycle through services already stored.
    await applyDocs(
      service('c', { owner: 'core' }),
      service('b', { owner: 'core', dependsOn: ['c'] }),
      service('a', { owner: 'core', dependsOn: ['b'] }),
    );
    expect(await issuesOf(applyDocs(service('c', { owner: 'core', dependsOn: ['a'] })))).toEqual([
      { document: 0, pointer: '/spec/dependsOn/0', message: 'dependency cycle: c -> a -> b -> c' },
    ]);
  });

  it('refuses to delete a team or user still referenced', async () => {
    await applyFile(CATALOG);
    await expect(h.resources.delete('Team', 'payments', testActor)).rejects.toMatchObject({
      status: 409,
      message:
        "Team 'payments' is still referenced by Service/feed (/spec/owner), Service/ranker (/spec/owner), Service/store (/spec/owner)",
    });
    await expect(h.resources.delete('User', 'bo', testActor)).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('Team/payments (/spec/members/1)'),
    });
    await expect(h.resources.delete('Service', 'store', testActor)).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining('Service/feed (/spec/dependsOn/1)'),
    });
    await h.resources.delete('Service', 'feed', testActor);
    expect((await h.events.list({ service: 'feed' })).map((e) => e.type)).toEqual([
      'resources.service.applied',
      'resources.service.deleted',
    ]);
  });

  it('accepts spec sections added by other modules and still rejects typos', async () => {
    h.resources.extend(
      'Service',
      'runtime',
      Type.Object({ command: Type.String(), instances: Type.Optional(Type.Integer({ minimum: 1 })) }),
      'runtime',
    );
    await applyDocs({ apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'core' }, spec: { members: [] } });
    await applyDocs(service('feed', { owner: 'core', runtime: { command: 'node feed.js', instances: 2 } }));
    expect((await catalog.getService('feed'))?.spec).toMatchObject({ tier: 3, runtime: { command: 'node feed.js', instances: 2 } });
    const issues = await issuesOf(applyDocs(service('feed', { owner: 'core', runtme: {}, runtime: { command: 'x', instance: 2 } })));
    expect(issues.map((i) => `${i.pointer}: ${i.message}`)).toEqual([
      "/spec/runtme: unknown field 'runtme' (did you mean 'runtime'?)",
      "/spec/runtime/instance: unknown field 'instance' (did you mean 'instances'?)",
    ]);
  });

  it('renders table columns', () => {
    const meta = { apiVersion: 'opsdeck.dev/v1' as const, metadata: { name: 'x' } };
    const svc = { ...meta, kind: 'Service', spec: { owner: 'core', tier: 2, dependsOn: ['a', 'b'] } };
    expect(serviceKind.columns!.map((c) => [c.header, c.value(svc)])).toEqual([
      ['OWNER', 'core'],
      ['TIER', '2'],
      ['DEPENDS-ON', 'a,b'],
    ]);
    expect(teamKind.columns!.map((c) => [c.header, c.value({ ...meta, kind: 'Team', spec: { members: [] } })])).toEqual([
      ['MEMBERS', '<none>'],
    ]);
    const user = { ...meta, kind: 'User', spec: { email: 'a@example.com', timeZone: 'UTC' } };
    expect(userKind.columns!.map((c) => [c.header, c.value(user)])).toEqual([
      ['EMAIL', 'a@example.com'],
      ['TIMEZONE', 'UTC'],
    ]);
  });
});
