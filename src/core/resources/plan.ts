import { Value } from '@sinclair/typebox/value';
import type { Executor } from '../db/database.js';
import { type FieldIssue, validationFailed } from '../errors.js';
import { type KindRegistry, LABEL_KEY, unknownKindMessage } from './kinds.js';
import { parseInput, type SourceDocument } from './parse.js';
import { sameContent } from './render.js';
import type { ApplyAction, ApplyInput, KindDefinition, ListLookup, Lookup, ResourceDocument, StoredResource } from './resources.js';
import { findResource, listResources } from './resources.store.js';
import { schemaIssues } from './schema-errors.js';

/** A validated, normalized document and what applying it would do. */
export interface PlannedDocument {
  definition: KindDefinition;
  doc: ResourceDocument;
  source: SourceDocument;
  current: StoredResource | undefined;
  action: ApplyAction;
}

type LocatedIssue = FieldIssue & { ordinal: number };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses and checks a whole batch — syntax, kind, schema, duplicates, references, each kind's
 * own checks — and collects every issue before deciding, so one apply reports all problems.
 * Throws a 400 `validation_failed` listing them; otherwise returns the plan in input order.
 * References resolve against the batch first, then `db` (pass the apply transaction).
 */
export async function planBatch(options: { db: Executor; registry: KindRegistry; input: ApplyInput }): Promise<PlannedDocument[]> {
  const { db, registry } = options;
  const parsed = parseInput(options.input);
  const issues: LocatedIssue[] = [...parsed.issues];
  const report = (source: SourceDocument, issue: FieldIssue) => {
    const at = source.locate(issue.pointer);
    issues.push({ ...issue, file: source.file, document: source.document, ...at, ordinal: source.ordinal });
  };

  // Pass 1: shape. Documents that name a kind and a name join the batch's namespace even when
  // otherwise invalid, so their referrers get one precise issue instead of a misleading "does not exist".
  const valid: { definition: KindDefinition; doc: ResourceDocument; source: SourceDocument }[] = [];
  const named = new Map<string, SourceDocument>();
  for (const source of parsed.documents) {
    const value = source.value;
    if (!isRecord(value)) {
      report(source, { pointer: '', message: 'must be a resource: a mapping with apiVersion, kind, metadata and spec' });
      continue;
    }
    if (typeof value.kind !== 'string') {
      report(source, { pointer: '/kind', message: value.kind === undefined ? "missing required field 'kind'" : 'must be a string' });
      continue;
    }
    const compiled = registry.find(value.kind);
    if (!compiled) {
      report(source, { pointer: '/kind', message: unknownKindMessage(value.kind, registry.names()) });
      continue;
    }
    const name = isRecord(value.metadata) && typeof value.metadata.name === 'string' ? value.metadata.name : undefined;
    if (name !== undefined) {
      const key = `${value.kind}/${name}`;
      const first = named.get(key);
      if (first) {
        const where = first.file ? `${first.file} document ${first.document}` : `document ${first.document}`;
        report(source, { pointer: '/metadata/name', message: `duplicate ${value.kind} '${name}' in this batch (first at ${where})` });
        continue;
      }
      named.set(key, source);
    }
    const found = schemaIssues(compiled.check, value);
    if (isRecord(value.metadata) && isRecord(value.metadata.labels)) {
      for (const key of Object.keys(value.metadata.labels)) {
        if (!LABEL_KEY.test(key)) {
          found.push({
            pointer: `/metadata/labels/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
            message: `invalid label key '${key}'`,
          });
        }
      }
    }
    if (found.length > 0) {
      for (const issue of found) report(source, issue);
      continue;
    }
    const doc = value as unknown as ResourceDocument;
    const defaulted = Value.Default(compiled.spec, structuredClone(doc.spec)) as Record<string, unknown>;
    const spec = compiled.definition.normalize ? compiled.definition.normalize(defaulted) : defaulted;
    const metadata = { name: doc.metadata.name, ...pick(doc.metadata, 'labels'), ...pick(doc.metadata, 'annotations') };
    valid.push({ definition: compiled.definition, doc: { apiVersion: doc.apiVersion, kind: doc.kind, metadata, spec }, source });
  }

  // Pass 2: references and semantic checks, against the batch as it will be plus the store.
  const stored = new Map<string, Promise<StoredResource | undefined>>();
  const fromStore = (kind: string, name: string) => {
    const key = `${kind}/${name}`;
    let hit = stored.get(key);
    if (!hit) {
      hit = findResource(db, kind, name);
      stored.set(key, hit);
    }
    return hit;
  };
  const batch = new Map(valid.map((v) => [`${v.doc.kind}/${v.doc.metadata.name}`, v.doc]));
  const lookup: Lookup = async (kind, name) => batch.get(`${kind}/${name}`) ?? (await fromStore(kind, name));
  const listed = new Map<string, Promise<ResourceDocument[]>>();
  const list: ListLookup = (kind) => {
    let hit = listed.get(kind);
    if (!hit) {
      hit = listResources(db, kind).then((rows) => {
        const byName = new Map<string, ResourceDocument>(rows.map((r) => [r.metadata.name, r]));
        for (const v of valid) if (v.doc.kind === kind) byName.set(v.doc.metadata.name, v.doc);
        return [...byName.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      });
      listed.set(kind, hit);
    }
    return hit;
  };

  for (const { definition, doc, source } of valid) {
    for (const ref of definition.refs?.(doc.spec) ?? []) {
      if (named.has(`${ref.kind}/${ref.name}`) || (await fromStore(ref.kind, ref.name))) continue;
      report(source, { pointer: ref.pointer, message: `${ref.kind} '${ref.name}' referenced at ${ref.pointer} does not exist` });
    }
    for (const issue of (await definition.validate?.(doc, lookup, list)) ?? []) report(source, issue);
  }

  if (issues.length > 0) {
    // Input order, then file order within a document; the sort is stable for issues without lines.
    const sorted = issues
      .sort((a, b) => a.ordinal - b.ordinal || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
      .map(({ ordinal: _, ...issue }) => issue);
    throw validationFailed(summary(sorted), sorted);
  }
  if (valid.length === 0)
    throw validationFailed('no resources found in the input', [{ pointer: '', message: 'no resources found in the input' }]);

  const plan: PlannedDocument[] = [];
  for (const item of valid) {
    const current = await fromStore(item.doc.kind, item.doc.metadata.name);
    const action: ApplyAction = !current ? 'created' : sameContent(current, item.doc) ? 'unchanged' : 'configured';
    plan.push({ ...item, current, action });
  }
  return plan;
}

function pick<K extends 'labels' | 'annotations'>(metadata: ResourceDocument['metadata'], key: K) {
  const value = metadata[key];
  return value && Object.keys(value).length > 0 ? { [key]: value } : {};
}

/** `file:line:col /pointer: message`, the way compilers and editors print locations. */
export function formatIssue(issue: FieldIssue): string {
  const where = issue.file
    ? `${issue.file}${issue.line ? `:${issue.line}:${issue.column ?? 1}` : ''}${issue.line ? '' : ` (document ${issue.document ?? 0})`}`
    : issue.document !== undefined
      ? `documents[${issue.document}]`
      : '';
  const pointer = issue.pointer ? `${issue.pointer}: ` : '';
  return `${where ? `${where} ` : ''}${pointer}${issue.message}`;
}

function summary(issues: FieldIssue[]): string {
  const head = `${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was applied`;
  return [head, ...issues.map(formatIssue)].join('\n');
}
