import { parseDurationMs } from '../promql/literals.js';

/**
 * Parameters of Prometheus' HTTP API as Prometheus reads them: times as RFC 3339 or unix
 * seconds (fractions allowed), durations as `5m`/`1h30m` or float seconds.
 */

export class PromParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

/** Milliseconds of a Prometheus duration (`1h30m`, `15s`, `500ms`) or of float seconds (`15`, `0.5`). */
export function parsePromDuration(param: string, text: string): number {
  const trimmed = text.trim();
  if (/^[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?$/i.test(trimmed)) {
    const ms = Number(trimmed) * 1000;
    if (Number.isFinite(ms)) return ms;
  }
  const ms = parseDurationMs(trimmed);
  if (ms === undefined) throw new PromParamError(param, `invalid parameter "${param}": cannot parse "${text}" to a valid duration`);
  return ms;
}

/** Epoch ms of a Prometheus time parameter: unix seconds (float) or RFC 3339. */
export function parsePromTime(param: string, text: string): number {
  const trimmed = text.trim();
  if (/^-?[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?$/i.test(trimmed)) {
    const ms = Math.round(Number(trimmed) * 1000);
    if (Number.isFinite(ms)) return ms;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (Number.isFinite(ms)) return ms;
  }
  throw new PromParamError(param, `invalid parameter "${param}": cannot parse "${text}" to a valid timestamp`);
}

/** A request's parameters: query string and, for POST, the form or JSON body (body wins, as in Prometheus). */
export function promParams(query: unknown, body: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const source of [query, body]) {
    if (!source || typeof source !== 'object') continue;
    for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
      const values = (Array.isArray(v) ? v : [v]).filter((x) => x !== undefined && x !== null).map(String);
      if (values.length) out.set(k, values);
    }
  }
  return out;
}
