import { describe, expect, it } from 'vitest';
import { withHeaders } from './apply.js';
import { type KindInfo, resolveKind } from './resources.js';

const kinds: KindInfo[] = ['Service', 'Team', 'Policy', 'Gateway', 'Alias'].map((kind) => ({
  kind,
  module: 'test',
  description: '',
  columns: [],
}));

describe('resolveKind', () => {
  it.each([
    ['Service', 'Service'],
    ['service', 'Service'],
    ['services', 'Service'],
    ['SERVICES', 'Service'],
    ['policies', 'Policy'],
    ['gateways', 'Gateway'],
    ['aliases', 'Alias'],
    ['team', 'Team'],
  ])('%s names %s', (input, kind) => {
    expect(resolveKind(input, kinds)?.kind).toBe(kind);
  });

  it('finds nothing for an unknown kind', () => {
    expect(resolveKind('servics', kinds)).toBeUndefined();
  });
});

describe('withHeaders', () => {
  it('adds ---/+++ headers to a bare hunk', () => {
    const text = withHeaders({ kind: 'Service', name: 'feed', action: 'configured', diff: '@@ -1 +1 @@\n-a\n+b' });
    expect(text).toBe('--- live/service/feed\n+++ file/service/feed\n@@ -1 +1 @@\n-a\n+b\n');
    expect(withHeaders({ kind: 'Service', name: 'feed', action: 'created', diff: '@@ -0,0 +1 @@\n+a\n' })).toMatch(/^--- \/dev\/null\n/);
  });

  it('leaves a diff that has its headers alone', () => {
    const diff = '--- Service/feed\n+++ Service/feed\n@@ -1 +1 @@\n-a\n+b\n';
    expect(withHeaders({ kind: 'Service', name: 'feed', action: 'configured', diff })).toBe(diff);
  });
});
