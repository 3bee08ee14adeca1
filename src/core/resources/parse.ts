import { type Document, isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { FieldIssue } from '../errors.js';
import type { ApplyInput } from './resources.js';

/** One document of a batch, with where it came from so issues can point back into the file. */
export interface SourceDocument {
  value: unknown;
  file?: string;
  /** 0-based: the YAML document within its file, or the index in `documents`. */
  document: number;
  /** Position in the batch, to report issues in input order. */
  ordinal: number;
  /** Line/column (1-based) of the node at a JSON pointer, or of its nearest existing ancestor. */
  locate(pointer: string): { line: number; column: number } | undefined;
}

export interface ParsedInput {
  documents: SourceDocument[];
  /** Syntax errors, each tagged with the ordinal of the document it broke. */
  issues: (FieldIssue & { ordinal: number })[];
}

const nowhere = () => undefined;

/**
 * Splits files (YAML or JSON, `---`-separated) and already-parsed documents into one ordered
 * batch. JSON is parsed as YAML, which it is a subset of, so both get line/column positions.
 */
export function parseInput(input: ApplyInput): ParsedInput {
  const documents: SourceDocument[] = [];
  const issues: ParsedInput['issues'] = [];
  let ordinal = 0;
  for (const file of input.files ?? []) {
    const lineCounter = new LineCounter();
    const parsed = parseAllDocuments(file.content, { lineCounter, prettyErrors: false, uniqueKeys: true });
    // An empty file parses to an "empty stream" that is not an array of documents.
    if (!Array.isArray(parsed)) continue;
    parsed.forEach((doc, index) => {
      const base = { file: file.name, document: index, ordinal: ordinal++ };
      if (doc.errors.length > 0) {
        for (const error of doc.errors) {
          const { line, col } = lineCounter.linePos(error.pos[0]);
          issues.push({
            ...base,
            pointer: '',
            line,
            column: col,
            message: error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
          });
        }
        return;
      }
      // A comment-only document, or a trailing `---`: nothing to apply.
      if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (error) {
        issues.push({ ...base, pointer: '', message: (error as Error).message, ...position(lineCounter, doc.contents.range?.[0]) });
        return;
      }
      documents.push({ ...base, value, locate: (pointer) => locate(doc, lineCounter, pointer) });
    });
  }
  (input.documents ?? []).forEach((value, index) => {
    documents.push({ value, document: index, ordinal: ordinal++, locate: nowhere });
  });
  return { documents, issues };
}

function position(lineCounter: LineCounter, offset: number | undefined) {
  if (offset === undefined) return {};
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function segments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function start(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}

/**
 * Walks the YAML tree along the pointer. A field resolves to its key (`tier:` rather than its
 * value), which is where an editor should put the cursor; a missing field resolves to the
 * nearest ancestor that exists.
 */
function locate(doc: Document, lineCounter: LineCounter, pointer: string): { line: number; column: number } | undefined {
  let node: unknown = doc.contents;
  let offset = start(node);
  for (const segment of segments(pointer)) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) break;
      offset = start(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)];
      if (item === undefined) break;
      offset = start(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
