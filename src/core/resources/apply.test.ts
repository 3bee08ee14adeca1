import { Type } from '@sinclair/typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, type FieldIssue } from '../errors.js';
import { type ApplyCall, doc, groupKind, widgetKind } from './test-kinds.js';
import { DIALECTS, openResourcesHarness, type ResourcesHarness, testActor } from './testing.js';

/** The 400 an apply throws, with its issues. */
async function rejection(promise: Promise<unknown>): Promise<{ error: AppError; issues: FieldIssue[] }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  const appError = error as AppError;
  expect(appError.status).toBe(400);
  return { error: appError, issues: (appError.details as { issues: FieldIssue[] }).issues };
}

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

const BATCH = `# three documents; the last two are wrong
apiVersion: opsdeck.dev/v1
kind: Group
metadata:
  name: core
spec:
  size: 3
---
apiVersion: opsdeck.dev/v1
kind: Widget
metadata:
  name: gear
spec:
  group: core
  colour: red
  shape:
    sides: 2
    radius: 4
---
apiVersion: opsdeck.dev/v1
kind: Group
metadata:
  name: edge
spec:
  size: 9
`;

describe.each(DIALECTS)('resources apply on %s', (dialect) => {
  let h: ResourcesHarness;
  let calls: ApplyCall[];

  beforeEach(async () => {
    h = await openResourcesHarness(dialect);
    calls = [];
    h.resources.register(groupKind);
    h.resources.register(widgetKind(calls));
  });
  afterEach(() => h.destroy());

  const apply = (...documents: unknown[]) => h.resources.apply({ documents }, testActor);

  it('creates, configures and leaves unchanged, writing events and audit only for changes', async () => {
    const first = await apply(doc('Group', 'core', { size: 3 }), doc('Widget', 'gear', { group: 'core' }));
    expect(first).toEqual([
      { kind: 'Group', name: 'core', action: 'created', generation: 1, document: 0 },
      { kind: 'Widget', name: 'gear', action: 'created', generation: 1, document: 1 },
    ]);
    h.clock.advance(1000);
    // Key order and an explicit default don't count as changes; normalize filled color: red.
    const second = await apply(
      { spec: { size: 3 }, metadata: { name: 'core' }, kind: 'Group', apiVersion: 'opsdeck.dev/v1' },
      doc('Widget', 'gear', { color: 'red', group: 'core' }),
    );
    expect(second.map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
    const third = await apply(doc('Group', 'core', { size: 4 }), doc('Widget', 'gear', { group: 'core' }));
    expect(third.map((r) => [r.action, r.generation])).toEqual([
      ['configured', 2],
      ['unchanged', 1],
    ]);

    const group = await h.resources.get('Group', 'core');
    expect(group).toMatchObject({ spec: { size: 4 }, generation: 2, createdAt: Date.parse('2026-03-01T00:00:00Z'), updatedBy: 'ana' });
    expect(group!.updatedAt).toBe(group!.createdAt + 1000);
    expect((await h.resources.get('Widget', 'gear'))?.spec).toEqual({ group: 'core', color: 'red' });

    const events = await h.events.list({});
    expect(events.map((e) => [e.type, e.subject, e.service, e.change, e.actor])).toEqual([
      ['resources.group.applied', 'Group/core', null, true, 'ana'],
      ['resources.widget.applied', 'Widget/gear', 'gear', true, 'ana'],
      ['resources.group.applied', 'Group/core', null, true, 'ana'],
    ]);
    expect(events[2]!.data).toEqual({ kind: 'Group', name: 'core', generation: 2, action: 'configured' });
    const audit = await h.audit.list({});
    expect(audit).toHaveLength(3);
    expect(audit.every((a) => a.action === 'resources.apply')).toBe(true);
    expect(audit.find((a) => a.details && (a.details as { generation: number }).generation === 2)).toMatchObject({
      target: 'Group/core',
      details: { generation: 2, action: 'configured', spec: { size: 4 } },
    });
    expect((await h.audit.verify()).ok).toBe(true);
    expect(calls).toEqual([{ name: 'gear', generation: 1, previous: undefined }]);
  });

  it('rejects the whole batch when one document is wrong, reporting every issue with its location', async () => {
    const { error, issues } = await rejection(h.resources.apply({ files: [{ name: 'batch.yaml', content: BATCH }] }, testActor));
    expect(error.code).toBe('validation_failed');
    expect(issues).toEqual([
      {
        file: 'batch.yaml',
        document: 1,
        pointer: '/spec/colour',
        line: lineOf(BATCH, 'colour'),
        column: 3,
        message: "unknown field 'colour' (did you mean 'color'?)",
      },
      {
        file: 'batch.yaml',
        document: 1,
        pointer: '/spec/shape/sides',
        line: lineOf(BATCH, 'sides'),
        column: 5,
        message: 'must be integer >= 3 (got 2)',
      },
      {
        file: 'batch.yaml',
        document: 1,
        pointer: '/spec/shape/radius',
        line: lineOf(BATCH, 'radius'),
        column: 5,
        message: "unknown field 'radius' (known fields: sides)",
      },
      {
        file: 'batch.yaml',
        document: 2,
        pointer: '/spec/size',
        line: lineOf(BATCH, 'size: 9'),
        column: 3,
        message: 'must be integer from 1 to 5 (got 9)',
      },
    ]);
    expect(error.message).toContain(`batch.yaml:${lineOf(BATCH, 'size: 9')}:3 /spec/size: must be integer from 1 to 5 (got 9)`);
    expect(await h.resources.list('Group')).toEqual([]);
    expect(await h.events.list({})).toEqual([]);
    expect(await h.audit.list({})).toEqual([]);
  });

  it('reports YAML and JSON syntax errors with line and column', async () => {
    const yaml = 'apiVersion: opsdeck.dev/v1\nkind: Group\nmetadata:\n  name: core\nspec:\n  size: [1, 2\n';
    const { issues } = await rejection(h.resources.apply({ files: [{ name: 'bad.yaml', content: yaml }] }, testActor));
    expect(issues[0]).toMatchObject({ file: 'bad.yaml', document: 0, line: 7, column: 1 });
    expect(issues[0]!.message).toMatch(/flow sequence/i);

    const json = '{\n  "apiVersion": "opsdeck.dev/v1",\n  "kind": "Group",,\n}';
    const second = await rejection(h.resources.apply({ files: [{ name: 'bad.json', content: json }] }, testActor));
    expect(second.issues[0]).toMatchObject({ file: 'bad.json', document: 0, line: 3, column: 19 });

    const dup = 'apiVersion: opsdeck.dev/v1\nkind: Group\nkind: Group\n';
    expect((await rejection(h.resources.apply({ files: [{ name: 'dup.yaml', content: dup }] }, testActor))).issues[0]).toMatchObject({
      line: 3,
      message: expect.stringMatching(/unique/),
    });
  });

  it('applies JSON files and multi-document YAML, reporting file and document index', async () => {
    const yaml = `---\n# comment-only documents are skipped\n---\n${JSON.stringify(doc('Group', 'a', { size: 1 }))}\n---\napiVersion: opsdeck.dev/v1\nkind: Group\nmetadata: { name: b }\nspec: { size: 2 }\n`;
    const json = JSON.stringify(doc('Widget', 'w', { group: 'b' }), null, 2);
    const results = await h.resources.apply(
      {
        files: [
          { name: 'g.yaml', content: yaml },
          { name: 'w.json', content: json },
        ],
      },
      testActor,
    );
    expect(results.map((r) => [r.kind, r.name, r.file, r.document])).toEqual([
      ['Group', 'a', 'g.yaml', 1],
      ['Group', 'b', 'g.yaml', 2],
      ['Widget', 'w', 'w.json', 0],
    ]);
  });

  it('names the known kinds for an unknown kind', async () => {
    const { issues } = await rejection(apply(doc('Widgit', 'x', {})));
    expect(issues).toEqual([
      { document: 0, pointer: '/kind', message: "unknown kind 'Widgit' (did you mean 'Widget'?); known kinds: Group, Widget" },
    ]);
    const error = await h.resources.get('Gadget', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, details: { kind: 'Gadget', knownKinds: ['Group', 'Widget'] } });
    await expect(h.resources.list('Gadget')).rejects.toMatchObject({ status: 400 });
    await expect(h.resources.delete('Gadget', 'x', testActor)).rejects.toMatchObject({ status: 400 });
    await expect(h.resources.history('Gadget', 'x')).rejects.toMatchObject({ status: 400 });
  });

  it('checks the envelope: apiVersion, metadata.name, labels, unknown top-level fields, duplicates', async () => {
    const { issues } = await rejection(
      apply(
        {
          apiVersion: 'v1',
          kind: 'Group',
          metadata: { name: 'Bad_Name', labels: { 'bad key!': 'x', team: 'has space' } },
          spec: { size: 1 },
          status: {},
        },
        doc('Group', 'twice', { size: 1 }),
        doc('Group', 'twice', { size: 2 }),
        'not a document',
      ),
    );
    expect(issues.map((i) => [i.document, i.pointer, i.message])).toEqual([
      [0, '/status', "unknown field 'status' (known fields: apiVersion, kind, metadata, spec)"],
      [0, '/apiVersion', "must be 'opsdeck.dev/v1' (got 'v1')"],
      [0, '/metadata/name', expect.stringMatching(/^must be a DNS label/)],
      [0, '/metadata/labels/team', expect.stringMatching(/^must be a label value/)],
      [0, '/metadata/labels/bad key!', "invalid label key 'bad key!'"],
      [2, '/metadata/name', "duplicate Group 'twice' in this batch (first at document 1)"],
      [3, '', 'must be a resource: a mapping with apiVersion, kind, metadata and spec'],
    ]);
  });

  it('checks references against the store and the same batch, in any order', async () => {
    const missing = await rejection(apply(doc('Widget', 'gear', { group: 'payments' })));
    expect(missing.issues).toEqual([
      { document: 0, pointer: '/spec/group', message: "Group 'payments' referenced at /spec/group does not exist" },
    ]);

    const results = await apply(doc('Widget', 'gear', { group: 'payments' }), doc('Group', 'payments', { size: 2 }));
    expect(results.map((r) => r.action)).toEqual(['created', 'created']);
    // Now in the store: a later batch may refer to it alone.
    expect((await apply(doc('Widget', 'cog', { group: 'payments' })))[0]!.action).toBe('created');

    // An invalid document still "exists" for its referrers: only its own problem is reported.
    const invalid = await rejection(apply(doc('Group', 'ops', { size: 0 }), doc('Widget', 'x', { group: 'ops' })));
    expect(invalid.issues.map((i) => i.pointer)).toEqual(['/spec/size']);
  });

  it('runs kind validators and reports their issues located in the file', async () => {
    const content = 'apiVersion: opsdeck.dev/v1\nkind: Widget\nmetadata:\n  name: reserved\nspec:\n  group: g\n';
    const { issues } = await rejection(h.resources.apply({ files: [{ name: 'w.yaml', content }] }, testActor));
    expect(issues).toEqual([
      { file: 'w.yaml', document: 0, pointer: '/metadata/name', line: 4, column: 3, message: 'is reserved' },
      {
        file: 'w.yaml',
        document: 0,
        pointer: '/spec/group',
        line: 6,
        column: 3,
        message: "Group 'g' referenced at /spec/group does not exist",
      },
    ]);
  });

  it('validates sections added with extend() and still rejects unknown fields', async () => {
    h.resources.extend(
      'Widget',
      'runtime',
      Type.Object({ replicas: Type.Integer({ minimum: 1 }), env: Type.Optional(Type.Record(Type.String(), Type.String())) }),
      'runtime',
    );
    const ok = await apply(doc('Group', 'g', { size: 1 }), doc('Widget', 'w', { group: 'g', runtime: { replicas: 2, env: { A: '1' } } }));
    expect(ok.map((r) => r.action)).toEqual(['created', 'created']);
    expect((await h.resources.get('Widget', 'w'))?.spec).toMatchObject({ runtime: { replicas: 2, env: { A: '1' } } });

    const { issues } = await rejection(apply(doc('Widget', 'w', { group: 'g', runtime: { replicas: 0, replica: 1 }, delivery: {} })));
    expect(issues.map((i) => [i.pointer, i.message])).toEqual([
      ['/spec/delivery', "unknown field 'delivery' (known fields: group, color, shape, runtime)"],
      ['/spec/runtime/replica', "unknown field 'replica' (did you mean 'replicas'?)"],
      ['/spec/runtime/replicas', 'must be integer >= 1 (got 0)'],
    ]);
    expect(h.resources.kinds().find((k) => k.kind === 'Widget')?.spec.properties).toHaveProperty('runtime');

    expect(() => h.resources.extend('Widget', 'group', Type.Object({}), 'other')).toThrow(/already has it/);
    expect(() => h.resources.extend('Widget', 'runtime', Type.Object({}), 'other')).toThrow(/already added by runtime/);
    expect(() => h.resources.register(groupKind)).toThrow(/already registered/);
  });

  it("runs an extension's validate after the kind's own, over every resource of a kind as the batch leaves them", async () => {
    h.resources.extend('Widget', 'slot', Type.Object({ n: Type.Integer() }), 'slots', {
      async validate(d, _lookup, list) {
        const n = (d.spec.slot as { n: number } | undefined)?.n;
        const taken = (await list('Widget')).filter((o) => o.metadata.name !== d.metadata.name && (o.spec.slot as { n: number })?.n === n);
        return n !== undefined && taken.length
          ? [{ pointer: '/spec/slot/n', message: `taken by ${taken.map((t) => t.metadata.name)}` }]
          : [];
      },
    });
    await apply(doc('Group', 'g', { size: 1 }), doc('Widget', 'a', { group: 'g', slot: { n: 1 } }));
    // Against the store, and within the batch (a stored resource's new version shadows the old).
    const { issues } = await rejection(
      apply(
        doc('Widget', 'reserved', { group: 'g', slot: { n: 1 } }),
        doc('Widget', 'b', { group: 'g', slot: { n: 2 } }),
        doc('Widget', 'c', { group: 'g', slot: { n: 2 } }),
      ),
    );
    expect(issues.map((i) => [i.document, i.pointer, i.message])).toEqual([
      [0, '/metadata/name', 'is reserved'],
      [0, '/spec/slot/n', 'taken by a'],
      [1, '/spec/slot/n', 'taken by c'],
      [2, '/spec/slot/n', 'taken by b'],
    ]);
    expect(
      (await apply(doc('Widget', 'a', { group: 'g', slot: { n: 2 } }), doc('Widget', 'b', { group: 'g', slot: { n: 1 } }))).map(
        (r) => r.action,
      ),
    ).toEqual(['configured', 'created']);
  });

  it('filters lists by labels and sorts them by name', async () => {
    await apply(
      doc('Group', 'zeta', { size: 1 }, { env: 'prod' }),
      doc('Group', 'alpha', { size: 1 }, { env: 'prod', 'example.com/team': 'a' }),
      doc('Group', 'mid', { size: 1 }, { env: 'dev' }),
    );
    expect((await h.resources.list('Group')).map((g) => g.metadata.name)).toEqual(['alpha', 'mid', 'zeta']);
    expect((await h.resources.list('groups', { labels: { env: 'prod' } })).map((g) => g.metadata.name)).toEqual(['alpha', 'zeta']);
    expect((await h.resources.list('group', { labels: { env: 'prod', 'example.com/team': 'a' } })).map((g) => g.metadata.name)).toEqual([
      'alpha',
    ]);
    // Changing only labels is a change.
    expect((await apply(doc('Group', 'mid', { size: 1 }, { env: 'prod' })))[0]!.action).toBe('configured');
  });
});
