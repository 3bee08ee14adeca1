import { KindGuard, type TSchema } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import type { FieldIssue } from '../errors.js';
import { FORMATS } from './formats.js';

/**
 * Schema violations as issues with JSON pointers relative to the checked value and messages
 * meant for people writing YAML ("must be integer from 1 to 5 (got 9)", "unknown field
 * 'tierr' (did you mean 'tier'?)"). Only the first problem at each pointer is kept: TypeBox
 * reports a missing field both as missing and as the wrong type.
 *
 * A schema may carry `errorMessage` (e.g. on a pattern) to replace the generated wording.
 */
export function schemaIssues(check: TypeCheck<TSchema>, value: unknown): FieldIssue[] {
  if (check.Check(value)) return [];
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const error of check.Errors(value)) {
    const pointer = error.path || '/';
    if (seen.has(pointer)) continue;
    seen.add(pointer);
    issues.push({ pointer, message: messageFor(error) });
  }
  return issues;
}

function lastSegment(pointer: string): string {
  const raw = pointer.slice(pointer.lastIndexOf('/') + 1);
  return raw.replace(/~1/g, '/').replace(/~0/g, '~');
}

function messageFor(error: ValueError): string {
  const schema = error.schema as TSchema & { errorMessage?: unknown };
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `missing required field '${lastSegment(error.path)}'`;
    case ValueErrorType.ObjectAdditionalProperties: {
      const field = lastSegment(error.path);
      const known = KindGuard.IsObject(schema) ? Object.keys(schema.properties) : [];
      const guess = closest(field, known);
      const hint = guess ? ` (did you mean '${guess}'?)` : known.length ? ` (known fields: ${known.join(', ')})` : '';
      return `unknown field '${field}'${hint}`;
    }
  }
  const got = shown(error.value);
  if (typeof schema.errorMessage === 'string') return `${schema.errorMessage}${got}`;
  switch (error.type) {
    case ValueErrorType.StringFormat:
      return `${FORMATS[String(schema.format)]?.message ?? `must be a valid ${String(schema.format)}`}${got}`;
    case ValueErrorType.StringMinLength:
      return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters${got}`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${schema.maxLength} characters`;
    case ValueErrorType.StringPattern:
      return `must match ${schema.pattern}${got}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${schema.maxItems} items`;
    case ValueErrorType.ArrayUniqueItems:
      return 'must not contain duplicates';
    case ValueErrorType.ObjectMinProperties:
      return `must have at least ${schema.minProperties} entr${schema.minProperties === 1 ? 'y' : 'ies'}`;
    case ValueErrorType.ObjectMaxProperties:
      return `must have at most ${schema.maxProperties} entries`;
    default:
      return `must be ${describe(schema)}${got}`;
  }
}

/** A short English description of what a schema admits. */
export function describe(schema: TSchema): string {
  if (KindGuard.IsInteger(schema) || KindGuard.IsNumber(schema)) {
    const noun = KindGuard.IsInteger(schema) ? 'integer' : 'number';
    const min = schema.minimum ?? schema.exclusiveMinimum;
    const max = schema.maximum ?? schema.exclusiveMaximum;
    if (schema.minimum !== undefined && schema.maximum !== undefined) return `${noun} from ${min} to ${max}`;
    if (min !== undefined) return `${noun} ${schema.minimum !== undefined ? '>=' : '>'} ${min}`;
    if (max !== undefined) return `${noun} ${schema.maximum !== undefined ? '<=' : '<'} ${max}`;
    return `${noun === 'integer' ? 'an integer' : 'a number'}`;
  }
  if (KindGuard.IsLiteral(schema)) return JSON.stringify(schema.const).replace(/"/g, "'");
  if (KindGuard.IsUnion(schema)) {
    if (schema.anyOf.every((s) => KindGuard.IsLiteral(s))) return `one of ${schema.anyOf.map(describe).join(', ')}`;
    return schema.anyOf.map(describe).join(' or ');
  }
  if (KindGuard.IsString(schema)) {
    if (schema.format && FORMATS[schema.format]) return FORMATS[schema.format]!.message.replace(/^must be /, '');
    return 'a string';
  }
  if (KindGuard.IsBoolean(schema)) return 'true or false';
  if (KindGuard.IsArray(schema)) return `a list of ${plural(describe(schema.items))}`;
  if (KindGuard.IsObject(schema) || KindGuard.IsRecord(schema)) return 'a mapping of fields';
  if (KindGuard.IsNull(schema)) return 'null';
  return 'valid';
}

function plural(description: string): string {
  return description.replace(/^an? /, '').replace(/^(string|integer|number|mapping of fields)$/, '$1s');
}

/** ` (got 9)` for short scalars, so a message says what was wrong without echoing whole objects. */
function shown(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? ' (got a list)' : ' (got a mapping)';
  const text = typeof value === 'string' ? `'${value}'` : String(value);
  return text.length <= 40 ? ` (got ${text})` : '';
}

/** The candidate within edit distance 2 of `word`, for "did you mean" hints. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
