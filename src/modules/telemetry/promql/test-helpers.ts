import type { QueryData } from '../contracts.js';
import { evaluateInstant, evaluateRange } from './evaluate.js';
import type { MemorySeriesSource } from './memory-source.js';
import { parsePromql } from './parse.js';

/** Instant query returning `labels-json → value` for compact assertions (tests only). */
export async function instant(source: MemorySeriesSource, query: string, timeMs: number): Promise<Record<string, string>> {
  const data = await evaluateInstant({ source, expr: parsePromql(query), time: timeMs });
  return flatten(data);
}

export async function range(source: MemorySeriesSource, query: string, start: number, end: number, step: number): Promise<QueryData> {
  return evaluateRange({ source, expr: parsePromql(query), start, end, step });
}

export function flatten(data: QueryData): Record<string, string> {
  if (data.resultType === 'scalar' || data.resultType === 'string') return { scalar: data.result[1] };
  if (data.resultType === 'matrix') {
    return Object.fromEntries(data.result.map((s) => [JSON.stringify(s.metric), s.values.map((v) => v[1]).join(',')]));
  }
  return Object.fromEntries(data.result.map((s) => [JSON.stringify(s.metric), s.value[1]]));
}
