const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * `30s`, `10m`, `1h`, `7d`, `2w`, `250ms`, and compounds like `1h30m` → milliseconds.
 * A bare number is refused: `--since 5` could mean seconds or minutes, and guessing wrong
 * silently hides data.
 */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (!WHOLE.test(value)) {
    throw new Error(`"${text}" is not a duration (use a number with a unit: 30s, 10m, 1h, 7d)`);
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(PART)) total += Number(amount) * UNIT_MS[unit];
  return Math.round(total);
}

/**
 * A point in time for `--since`: a duration ago (`1h`), or an absolute ISO-8601 time
 * (`2026-01-02T10:00:00Z`), as epoch milliseconds.
 */
export function parseSince(text: string, now: number): number {
  const value = text.trim();
  if (WHOLE.test(value)) return now - parseDuration(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return at;
  }
  throw new Error(`"${text}" is neither a duration (30s, 10m, 1h, 7d) nor an ISO-8601 time`);
}
