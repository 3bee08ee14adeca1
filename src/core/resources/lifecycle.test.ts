import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDuration } from './formats.js';
import { doc, groupKind, widgetKind } from './test-kinds.js';
import { DIALECTS, openResourcesHarness, type ResourcesHarness, testActor } from './testing.js';

describe.each(DIALECTS)('resources history, delete and diff on %s', (dialect) => {
  let h: ResourcesHarness;

  beforeEach(async () => {
    h = await openResourcesHarness(dialect);
    h.resources.register(groupKind);
    h.resources.register(widgetKind());
  });
  afterEach(() => h.destroy());

  const apply = (...documents: unknown[]) => h.resources.apply({ documents }, testActor);

  it('keeps every version newest first and prunes past 100', async () => {
    for (let i = 0; i < 103; i++) {
      await apply(doc('Group', 'core', { size: 1, description: `rev ${i}` }));
      h.clock.advance(1000);
    }
    const history = await h.resources.history('Group', 'core');
    expect(history).toHaveLength(100);
    expect(history[0]).toMatchObject({
      generation: 103,
      action: 'configured',
      appliedBy: 'ana',
      document: { spec: { description: 'rev 102' } },
    });
    expect(history.at(-1)).toMatchObject({
      generation: 4,
      document: { kind: 'Group', metadata: { name: 'core' }, spec: { description: 'rev 3' } },
    });
    expect(history.map((v) => v.generation)).toEqual(Array.from({ length: 100 }, (_, i) => 103 - i));
    expect(history[0]!.appliedAt - history[1]!.appliedAt).toBe(1000);
  });

  it('refuses to delete a resource others reference, naming them', async () => {
    await apply(doc('Group', 'core', { size: 1 }), doc('Widget', 'gear', { group: 'core' }), doc('Widget', 'cog', { group: 'core' }));
    const error = await h.resources.delete('Group', 'core', testActor).catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 409,
      code: 'conflict',
      message: "Group 'core' is still referenced by Widget/cog (/spec/group), Widget/gear (/spec/group)",
      details: {
        referrers: [
          { resource: 'Widget/cog', pointer: '/spec/group' },
          { resource: 'Widget/gear', pointer: '/spec/group' },
        ],
      },
    });
    expect(await h.resources.get('Group', 'core')).toBeDefined();
  });

  it('deletes with a version, an event and an audit record; 404 names what is missing', async () => {
    await apply(doc('Group', 'core', { size: 1 }), doc('Widget', 'gear', { group: 'core' }));
    const deleted = await h.resources.delete('widget', 'gear', testActor);
    expect(deleted).toMatchObject({ kind: 'Widget', metadata: { name: 'gear' }, generation: 1 });
    expect(await h.resources.get('Widget', 'gear')).toBeUndefined();
    expect((await h.resources.history('Widget', 'gear')).map((v) => [v.generation, v.action])).toEqual([
      [2, 'deleted'],
      [1, 'created'],
    ]);
    const events = await h.events.list({ types: ['resources.widget.*'] });
    expect(events.map((e) => [e.type, e.service, e.data])).toEqual([
      ['resources.widget.applied', 'gear', { kind: 'Widget', name: 'gear', generation: 1, action: 'created' }],
      ['resources.widget.deleted', 'gear', { kind: 'Widget', name: 'gear', generation: 2, action: 'deleted' }],
    ]);
    expect((await h.audit.list({ action: 'resources.delete' })).map((a) => a.target)).toEqual(['Widget/gear']);

    // Created again, it continues the same history instead of colliding with generation 1.
    expect(await apply(doc('Widget', 'gear', { group: 'core' }))).toMatchObject([{ action: 'created', generation: 3 }]);

    await expect(h.resources.delete('Widget', 'nope', testActor)).rejects.toMatchObject({
      status: 404,
      message: "Widget 'nope' does not exist",
      details: { kind: 'Widget', name: 'nope' },
    });
    await expect(h.resources.history('Widget', 'nope')).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining("Widget 'nope'"),
    });
  });

  it('diffs the YAML of labels, annotations and spec without writing anything', async () => {
    await apply(doc('Group', 'core', { size: 1, description: 'old' }));
    const results = await h.resources.diff({
      documents: [
        doc('Group', 'core', { size: 2, description: 'old' }, { env: 'prod' }),
        doc('Group', 'core2', { size: 1 }),
        doc('Group', 'x', { size: 1 }),
      ],
    });
    expect(results.map((r) => [r.kind, r.name, r.action, r.document])).toEqual([
      ['Group', 'core', 'configured', 0],
      ['Group', 'core2', 'created', 1],
      ['Group', 'x', 'created', 2],
    ]);
    expect(results[0]!.diff).toBe(
      [
        '--- Group/core\tlive (generation 1)',
        '+++ Group/core\tproposed',
        '@@ -1,3 +1,6 @@',
        '+metadata:',
        '+  labels:',
        '+    env: prod',
        ' spec:',
        '   description: old',
        '-  size: 1',
        '+  size: 2',
        '',
      ].join('\n'),
    );
    expect(results[1]!.diff).toContain('--- Group/core2\tabsent\n+++ Group/core2\tproposed\n@@ -0,0 +1,2 @@\n+spec:\n+  size: 1\n');

    const same = await h.resources.diff({ documents: [doc('Group', 'core', { description: 'old', size: 1 })] });
    expect(same).toEqual([{ kind: 'Group', name: 'core', action: 'unchanged', diff: '', document: 0 }]);
    // Diff validates like apply does.
    await expect(h.resources.diff({ documents: [doc('Group', 'core', { size: 7 })] })).rejects.toMatchObject({ status: 400 });
    expect((await h.resources.get('Group', 'core'))?.generation).toBe(1);
    expect(await h.resources.list('Group')).toHaveLength(1);
  });

  it('serialises concurrent applies of the same resource', async () => {
    const results = await Promise.all([1, 2, 3, 4].map((size) => apply(doc('Group', 'core', { size }))));
    expect(results.map((r) => r[0]!.generation).sort()).toEqual([1, 2, 3, 4]);
    expect((await h.resources.history('Group', 'core')).map((v) => v.generation)).toEqual([4, 3, 2, 1]);
  });

  it('rejects an empty input', async () => {
    await expect(h.resources.apply({ files: [{ name: 'empty.yaml', content: '# nothing\n' }] }, testActor)).rejects.toMatchObject({
      status: 400,
      message: 'no resources found in the input',
    });
  });
});

describe('durations', () => {
  it('parses compound durations and rejects anything else', () => {
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('24h')).toBe(86_400_000);
    for (const bad of ['', '5', 'm', '1.5h', '-1s', '5 m', '1y']) expect(parseDuration(bad)).toBeUndefined();
  });
});
