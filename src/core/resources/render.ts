import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { stringify } from 'yaml';
import { canonicalJson } from '../canonical-json.js';
import type { ResourceDocument, StoredResource } from './resources.js';

/** What `apply` compares and `diff` shows: what the user controls, not bookkeeping. */
function content(doc: ResourceDocument): { labels: Record<string, string>; annotations: Record<string, string>; spec: unknown } {
  return { labels: doc.metadata.labels ?? {}, annotations: doc.metadata.annotations ?? {}, spec: doc.spec };
}

export function sameContent(a: ResourceDocument, b: ResourceDocument): boolean {
  return canonicalJson(content(a)) === canonicalJson(content(b));
}

/** YAML of labels, annotations and spec with sorted keys, so reordering a file never shows as a change. */
export function renderYaml(doc: ResourceDocument | undefined): string {
  if (!doc) return '';
  const { labels, annotations, spec } = content(doc);
  const metadata = {
    ...(Object.keys(labels).length ? { labels } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
  const view = Object.keys(metadata).length ? { metadata, spec } : { spec };
  return stringify(JSON.parse(canonicalJson(view)), { sortMapEntries: true });
}

/** A unified diff of the live resource against the proposed document; empty when they match. */
export function unifiedDiff(current: StoredResource | undefined, proposed: ResourceDocument): string {
  const before = renderYaml(current);
  const after = renderYaml(proposed);
  if (before === after) return '';
  const label = `${proposed.kind}/${proposed.metadata.name}`;
  const oldHeader = current ? `live (generation ${current.generation})` : 'absent';
  return createTwoFilesPatch(label, label, before, after, oldHeader, 'proposed', { headerOptions: FILE_HEADERS_ONLY });
}
