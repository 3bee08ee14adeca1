import { AppError } from '../../../core/errors.js';
import { isLabelNameChar, isLabelNameStart, isMetricNameChar, isMetricNameStart } from './names.js';

/** A syntax or validity problem in a text exposition, located at a 1-based line and column. */
export class ExpositionError extends AppError {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(400, 'invalid_exposition', `line ${line}, column ${column}: ${reason}`, { line, column });
    this.name = 'ExpositionError';
  }
}

export const CH_TAB = 9;
export const CH_LF = 10;
export const CH_CR = 13;
export const CH_SPACE = 32;
export const CH_QUOTE = 34;
export const CH_HASH = 35;
export const CH_PLUS = 43;
export const CH_COMMA = 44;
export const CH_MINUS = 45;
export const CH_DOT = 46;
export const CH_EQUALS = 61;
export const CH_BACKSLASH = 92;
export const CH_LBRACE = 123;
export const CH_RBRACE = 125;

export function isBlank(c: number): boolean {
  // A trailing CR is treated as a blank so that CRLF expositions (Windows exporters) still parse.
  return c === CH_SPACE || c === CH_TAB || c === CH_CR;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index of the first non-digit at or after `i`. */
function skipDigits(s: string, i: number, end: number): number {
  while (i < end && isDigitCode(s.charCodeAt(i))) i++;
  return i;
}

function digitsValue(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

/** Case-insensitive comparison of `s[start, end)` with a lowercase ASCII word. */
function equalsWordIgnoreCase(s: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if ((s.charCodeAt(start + k) | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Parses a sample value the way Prometheus does (Go's ParseFloat, decimal forms): digits with an
 * optional fraction and exponent, `NaN`, `Inf`/`+Inf`/`-Inf` in any case. Returns undefined when
 * the token is not a float. `Number()` alone would also accept hex, empty strings and `Infinity`
 * spelled out, which would make us accept what Prometheus rejects.
 */
export function parseFloatToken(s: string, start: number, end: number): number | undefined {
  let i = start;
  let c = s.charCodeAt(i);
  let negative = false;
  if (c === CH_PLUS || c === CH_MINUS) {
    negative = c === CH_MINUS;
    i++;
    c = s.charCodeAt(i);
  }
  if (i >= end) return undefined;
  if (!isDigitCode(c) && c !== CH_DOT) {
    if (equalsWordIgnoreCase(s, i, end, 'inf') || equalsWordIgnoreCase(s, i, end, 'infinity')) {
      return negative ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (i === start && equalsWordIgnoreCase(s, i, end, 'nan')) return Number.NaN;
    return undefined;
  }
  const intStart = i;
  const intEnd = skipDigits(s, i, end);
  let mantissaDigits = intEnd - i;
  if (intEnd === end && mantissaDigits > 0 && mantissaDigits <= 15) {
    // Plain integers (counters, bucket counts) are most samples: accumulating them exactly avoids a
    // slice and a generic conversion. 15 digits stay below 2^53, so the result is exact.
    const n = digitsValue(s, intStart, intEnd);
    return negative ? -n : n;
  }
  i = intEnd;
  if (i < end && s.charCodeAt(i) === CH_DOT) {
    const fracEnd = skipDigits(s, i + 1, end);
    mantissaDigits += fracEnd - i - 1;
    i = fracEnd;
  }
  if (mantissaDigits === 0) return undefined;
  if (i < end && (s.charCodeAt(i) | 0x20) === 101 /* e */) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === CH_PLUS || sign === CH_MINUS) i++;
    const expEnd = skipDigits(s, i, end);
    if (expEnd === i) return undefined;
    i = expEnd;
  }
  if (i !== end) return undefined;
  return Number(s.slice(start, end));
}

/** A 0.0.4 timestamp: an integer number of milliseconds, possibly negative. */
export function parseIntegerToken(s: string, start: number, end: number): number | undefined {
  let i = start;
  if (s.charCodeAt(i) === CH_MINUS) i++;
  if (i >= end || skipDigits(s, i, end) !== end) return undefined;
  if (end - i <= 15) {
    const n = digitsValue(s, i, end);
    return i > start ? -n : n;
  }
  return Number(s.slice(start, end));
}

/**
 * Unescapes a HELP docstring. 0.0.4 knows `\\` and `\n`; OpenMetrics adds `\"`. Anything else after
 * a backslash is kept literally, which is what Prometheus' text parser does for HELP.
 */
export function unescapeHelp(raw: string, openMetrics: boolean): string {
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch !== '\\' || i + 1 >= raw.length) {
      out += ch;
      continue;
    }
    const next = raw[i + 1];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === '"' && openMetrics) out += '"';
    else {
      out += ch;
      continue;
    }
    i++;
  }
  return out;
}

/** Escapes a label value for the text formats (the inverse of what the parser accepts). */
export function escapeLabelValue(value: string): string {
  let out = '';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else out += ch;
  }
  return out;
}

/** Escapes a HELP docstring for the given format. */
export function escapeHelp(help: string, openMetrics: boolean): string {
  let out = '';
  for (const ch of help) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '"' && openMetrics) out += '\\"';
    else out += ch;
  }
  return out;
}

/** Renders a float the way the text formats accept it back (`+Inf`, `-Inf`, `NaN`, `-0`). */
export function formatFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

// Character classes as a table: the name scanners run once per byte of input, and one indexed load
// is cheaper than the chain of range comparisons.
export const METRIC_START = 1;
export const METRIC_CHAR = 2;
export const LABEL_START = 4;
export const LABEL_CHAR = 8;
const CLASSES = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  CLASSES[c] =
    (isMetricNameStart(c) ? METRIC_START : 0) |
    (isMetricNameChar(c) ? METRIC_CHAR : 0) |
    (isLabelNameStart(c) ? LABEL_START : 0) |
    (isLabelNameChar(c) ? LABEL_CHAR : 0);
}

export function hasClass(c: number, cls: number): boolean {
  return c < 128 && (CLASSES[c]! & cls) !== 0;
}
