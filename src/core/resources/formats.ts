import { FormatRegistry } from '@sinclair/typebox';
import { IANAZone } from 'luxon';

/**
 * String formats resource schemas may use (`Type.String({ format: 'duration' })`), with the
 * message shown when a value does not match. TypeBox keeps formats in a process-wide
 * registry, so they are registered once, here, for every kind.
 */
export const FORMATS: Record<string, { check(value: string): boolean; message: string }> = {
  email: {
    // Deliberately loose: deliverability is the mail server's business, typos like a missing @ are ours.
    check: (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) && v.length <= 254,
    message: 'must be an email address such as ana@example.com',
  },
  duration: {
    check: (v) => parseDuration(v) !== undefined,
    message: "must be a duration such as '0s', '30s', '5m', '1h30m' or '7d'",
  },
  'time-zone': {
    check: (v) => IANAZone.isValidZone(v),
    message: "must be an IANA time zone such as 'Europe/Berlin' or 'UTC'",
  },
  url: {
    check: (v) => {
      if (!URL.canParse(v)) return false;
      const { protocol } = new URL(v);
      return protocol === 'http:' || protocol === 'https:';
    },
    message: 'must be an http(s) URL',
  },
};

for (const [name, format] of Object.entries(FORMATS)) {
  if (!FormatRegistry.Has(name)) FormatRegistry.Set(name, format.check);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/** Milliseconds in a duration like `1h30m`, `5m`, `0s`; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}
