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

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Milliseconds of a Prometheus duration (`1h30m`, `15s`, `500ms`) or of float seconds (`15`, `0.5`). */
export function parsePromDuration(param: string, text: string): number {
  const trimmed = text.trim();
  if (/^[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?$/i.test(trimmed)) {
    const ms = Number(trimmed) * 1000;
    if (Number.isFinite(ms)) return ms;
  }
  const re = /([0-9]+)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!trimmed || matched !== trimmed.length) {
    throw new PromParamError(param, `invalid parameter "${param}": cannot parse "${text}" to a valid duration`);
  }
  return total;
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
