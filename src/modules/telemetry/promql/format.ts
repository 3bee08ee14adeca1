/**
 * Number formatting exactly as Prometheus writes it. The HTTP API uses Go's
 * strconv.FormatFloat(v, 'f', -1) but switches to 'e' below 1e-6 and from 1e21 — the same
 * thresholds as JavaScript's Number#toString, so only the exponent spelling differs (Go pads the
 * exponent to two digits: 1e-07).
 */
export function formatValue(v: number): string {
  const named = special(v);
  if (named !== undefined) return named;
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const mantissa = s.slice(0, e);
  const sign = s[e + 1] === '-' ? '-' : '+';
  const digits = s.slice(e + 2);
  return `${mantissa}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/**
 * Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent.
 * count_values uses it for its label values.
 */
export function formatFloatF(v: number): string {
  const named = special(v);
  if (named !== undefined) return named;
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const intPart = dot < 0 ? mantissa : mantissa.slice(0, dot);
  const frac = dot < 0 ? '' : mantissa.slice(dot + 1);
  const digits = intPart + frac;
  // Position of the decimal point relative to the start of `digits`.
  const point = intPart.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

/** Prometheus API timestamps: unix seconds with millisecond precision. */
export function toPromTime(ms: number): number {
  return ms / 1000;
}

/** NaN, the infinities and negative zero, spelled as Go spells them. */
function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return undefined;
}
