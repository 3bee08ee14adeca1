import { CH_LF, isBlank } from './exposition-tokens.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'unknown' | 'gaugehistogram' | 'stateset' | 'info';

export interface MetricFamilyInfo {
  type: MetricType;
  help: string;
  /** OpenMetrics `# UNIT`, when given. */
  unit?: string;
}

export const PROM_TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
export const OPENMETRICS_TYPES = new Set<MetricType>([
  'counter',
  'gauge',
  'histogram',
  'summary',
  'unknown',
  'gaugehistogram',
  'stateset',
  'info',
]);
const HAS_CREATED = new Set<MetricType>(['counter', 'histogram', 'summary', 'gaugehistogram']);

// What a sample name means given the TYPE lines seen so far; cached per name.
export const ROLE_PLAIN = 0;
export const ROLE_SKIP_CREATED = 1;
export const ROLE_BUCKET = 2;
export const ROLE_QUANTILE = 3;

/** Which format to parse: the content type decides when it names one, else a closing `# EOF`. */
export function isOpenMetrics(text: string, contentType: string | undefined): boolean {
  if (contentType !== undefined && contentType !== '') {
    const lower = contentType.toLowerCase();
    if (lower.includes('application/openmetrics-text')) return true;
    if (lower.includes('text/plain')) return false;
  }
  // No usable content type (a pushed file, a test): OpenMetrics always ends with "# EOF".
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === CH_LF || isBlank(text.charCodeAt(end - 1)))) end--;
  return text.startsWith('# EOF', end - 5) && (end === 5 || text.charCodeAt(end - 6) === CH_LF);
}

/**
 * What a sample name means given the TYPE lines seen so far: a `_created` series to skip, a
 * histogram bucket that needs `le`, a summary quantile that needs `quantile`, or nothing special.
 */
export function sampleRole(name: string, families: ReadonlyMap<string, MetricFamilyInfo>, typed: ReadonlySet<string>): number {
  if (typed.has(name)) {
    return families.get(name)?.type === 'summary' ? ROLE_QUANTILE : ROLE_PLAIN;
  }
  const base = (suffix: string) => (name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined);
  const createdOf = base('_created');
  if (createdOf !== undefined) {
    // 0.0.4 counters are usually typed under their `_total` name, OpenMetrics ones without it.
    const type = families.get(createdOf)?.type ?? families.get(`${createdOf}_total`)?.type;
    if (type !== undefined && HAS_CREATED.has(type)) return ROLE_SKIP_CREATED;
  }
  const bucketOf = base('_bucket');
  if (bucketOf !== undefined) {
    const type = families.get(bucketOf)?.type;
    if (type === 'histogram' || type === 'gaugehistogram') return ROLE_BUCKET;
  }
  return ROLE_PLAIN;
}
