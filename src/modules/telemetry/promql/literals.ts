/** Number, duration and string literals as PromQL (i.e. Go) spells them. */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};
const DURATION_RE = /^(?:(\d+)(ms|s|m|h|d|w|y))+$/;
const DURATION_PART_RE = /(\d+)(ms|s|m|h|d|w|y)/g;
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Parses a duration such as `1h30m` to ms; units must be in decreasing order, each at most once. */
export function parseDurationMs(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  let lastUnit = -1;
  for (const m of text.matchAll(DURATION_PART_RE)) {
    const unit = UNIT_ORDER.indexOf(m[2]!);
    if (unit <= lastUnit) return undefined;
    lastUnit = unit;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  }
  return total;
}

/**
 * A number literal: decimal, exponent, hex (0x..), Inf/NaN in any case, or a duration (which
 * Prometheus 3 accepts as a number of seconds). Returns undefined if it is none of these.
 */
export function parseNumberLiteral(text: string): number | undefined {
  let sign = 1;
  let body = text;
  if (body.startsWith('-') || body.startsWith('+')) {
    if (body.startsWith('-')) sign = -1;
    body = body.slice(1);
  }
  const lower = body.toLowerCase();
  if (lower === 'inf') return sign * Number.POSITIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * Number.parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(body)) return sign * Number(body);
  const ms = parseDurationMs(body);
  if (ms !== undefined) return (sign * ms) / 1000;
  return undefined;
}

/**
 * Go's strconv.ParseFloat for the common spellings (histogram `le` values are parsed with it):
 * decimal, exponent, hex, Inf/Infinity/NaN with optional sign, underscores not allowed.
 */
export function parseGoFloat(text: string): number | undefined {
  const m = /^([+-]?)(.*)$/.exec(text)!;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2]!.toLowerCase();
  if (body === 'inf' || body === 'infinity') return sign * Number.POSITIVE_INFINITY;
  if (body === 'nan') return m[1] === '' ? Number.NaN : undefined;
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return sign * Number(body);
  if (/^0x[0-9a-f]+$/.test(body)) return sign * Number.parseInt(body.slice(2), 16);
  return undefined;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** Unquotes a PromQL string literal: Go escapes in "..." and '...', raw text in `...`. */
export function unquoteString(literal: string): string {
  const quote = literal[0];
  const inner = literal.slice(1, -1);
  if (quote === '`') return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = inner[++i];
    if (n === undefined) throw new Error('invalid escape at end of string');
    if (n in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[n];
    else if (n === quote) out += n;
    else if (n === 'x' || n === 'u' || n === 'U') {
      const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      const hex = inner.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new Error(`invalid escape sequence \\${n}${hex}`);
      out += String.fromCodePoint(Number.parseInt(hex, 16));
      i += len;
    } else if (/[0-7]/.test(n)) {
      const oct = inner.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new Error(`invalid octal escape \\${oct}`);
      out += String.fromCharCode(Number.parseInt(oct, 8));
      i += 2;
    } else {
      throw new Error(`unknown escape sequence \\${n}`);
    }
  }
  return out;
}
