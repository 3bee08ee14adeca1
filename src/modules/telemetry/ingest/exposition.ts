import type { Labels, Sample } from '../contracts.js';
import {
  isOpenMetrics,
  type MetricFamilyInfo,
  type MetricType,
  OPENMETRICS_TYPES,
  PROM_TYPES,
  ROLE_BUCKET,
  ROLE_PLAIN,
  ROLE_QUANTILE,
  ROLE_SKIP_CREATED,
  sampleRole,
} from './exposition-families.js';
import {
  CH_BACKSLASH,
  CH_COMMA,
  CH_CR,
  CH_EQUALS,
  CH_HASH,
  CH_LBRACE,
  CH_LF,
  CH_QUOTE,
  CH_RBRACE,
  ExpositionError,
  hasClass,
  isBlank,
  LABEL_CHAR,
  LABEL_START,
  METRIC_CHAR,
  METRIC_START,
  parseFloatToken,
  parseIntegerToken,
  unescapeHelp,
} from './exposition-tokens.js';
import { isValidMetricName } from './names.js';
import { detached, detachedSeries, type ParsedSeries, type SeriesTextCache } from './series-text.js';

export type { MetricFamilyInfo, MetricType } from './exposition-families.js';

export interface ParseExpositionOptions {
  /** The scrape's Content-Type; `application/openmetrics-text` selects OpenMetrics. */
  contentType?: string;
  /** Epoch ms given to samples without their own timestamp; left unset when omitted. */
  defaultTimestamp?: number;
}

export interface ParsedExposition {
  samples: Sample[];
  families: Map<string, MetricFamilyInfo>;
}

/** Samples as parallel columns: sample i is `series[i]` at `t[i]` (NaN: no timestamp given) with value `v[i]`. */
export interface ExpositionBatch<E extends ParsedSeries> {
  length: number;
  series: E[];
  t: Float64Array;
  v: Float64Array;
  families: Map<string, MetricFamilyInfo>;
}

/**
 * Parses a Prometheus text (0.0.4) or OpenMetrics 1.0 exposition into samples.
 *
 * A hand-written scanner over the whole string rather than a split-and-regex per line: it avoids
 * one allocation per line and lets errors point at the exact column.
 */
export function parseExposition(text: string, options: ParseExpositionOptions = {}): ParsedExposition {
  return new ExpositionParser(text, isOpenMetrics(text, options.contentType), options.defaultTimestamp).run();
}

/**
 * Like parseExposition, but series are looked up by their raw text in `cache` (see series-text.ts)
 * and samples come back as columns, without an object per sample. Same validation and errors.
 */
export function parseExpositionBatch<E extends ParsedSeries>(
  text: string,
  cache: SeriesTextCache<E>,
  options: Omit<ParseExpositionOptions, 'defaultTimestamp'> = {},
): ExpositionBatch<E> {
  const parser = new ExpositionParser(text, isOpenMetrics(text, options.contentType), undefined, cache as SeriesTextCache<ParsedSeries>);
  parser.run();
  return parser.batch as ExpositionBatch<E>;
}

/** Upper bound of the sample lines in `text`. */
function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function indexOrEnd(s: string, ch: string, from: number): number {
  const i = s.indexOf(ch, from);
  return i < 0 ? s.length : i;
}

class ExpositionParser {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private sawEof = false;
  private readonly samples: Sample[] = [];
  private readonly families = new Map<string, MetricFamilyInfo>();
  private readonly seenHelp = new Set<string>();
  private readonly seenType = new Set<string>();
  private readonly seenUnit = new Set<string>();
  private readonly roles = new Map<string, number>();
  private lastRoleName = '';
  private nextBackslash = -1;
  private nextLf = -1;
  private lastRole = ROLE_PLAIN;
  readonly batch: ExpositionBatch<ParsedSeries> | undefined;
  /** The last sample line's value and timestamp, and where its series text ended. */
  private value = 0;
  private seriesEnd = 0;
  private t: number | undefined;

  constructor(
    private readonly s: string,
    private readonly openMetrics: boolean,
    private readonly defaultTimestamp: number | undefined,
    private readonly cache?: SeriesTextCache<ParsedSeries>,
  ) {
    if (cache) {
      const n = lineCount(s);
      this.batch = { length: 0, series: [], t: new Float64Array(n), v: new Float64Array(n), families: this.families };
    }
  }

  run(): ParsedExposition {
    const s = this.s;
    const len = s.length;
    while (this.pos < len) {
      this.lineStart = this.pos;
      while (this.pos < len && isBlank(s.charCodeAt(this.pos))) this.pos++;
      const c = s.charCodeAt(this.pos);
      if (this.pos >= len) break;
      if (c === CH_LF) {
        this.nextLine();
        continue;
      }
      // Trailing blank lines after "# EOF" are tolerated; anything else is not.
      if (this.sawEof) this.fail('unexpected content after "# EOF"');
      if (c === CH_HASH) this.comment();
      else this.sample();
      this.nextLine();
    }
    if (this.openMetrics && !this.sawEof) {
      this.lineStart = this.pos;
      this.fail('expected "# EOF" at the end of an OpenMetrics exposition');
    }
    return { samples: this.samples, families: this.families };
  }

  /** Called with `pos` at a line feed or the end of input. */
  private nextLine(): void {
    this.pos++;
    this.line++;
    this.lineStart = this.pos;
  }

  private fail(reason: string, at = this.pos): never {
    throw new ExpositionError(this.line, at - this.lineStart + 1, reason);
  }

  private skipBlanks(): void {
    const s = this.s;
    while (isBlank(s.charCodeAt(this.pos))) this.pos++;
  }

  private atLineEnd(): boolean {
    return this.pos >= this.s.length || this.s.charCodeAt(this.pos) === CH_LF;
  }

  /** Describes the character at `pos` for error messages. */
  private here(): string {
    if (this.pos >= this.s.length) return 'end of input';
    if (this.s.charCodeAt(this.pos) === CH_LF) return 'end of line';
    return JSON.stringify(String.fromCodePoint(this.s.codePointAt(this.pos) ?? 0));
  }

  /** Returns the end of the run of non-blank characters starting at `pos`. */
  private token(): number {
    const s = this.s;
    let i = this.pos;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === CH_LF || isBlank(c)) break;
      i++;
    }
    return i;
  }

  private comment(): void {
    const s = this.s;
    this.pos++; // '#'
    this.skipBlanks();
    const wordEnd = this.token();
    const word = s.slice(this.pos, wordEnd);
    if (word === 'EOF' && this.openMetrics) {
      this.pos = wordEnd;
      this.skipBlanks();
      if (!this.atLineEnd()) this.fail('unexpected content after "# EOF"');
      this.sawEof = true;
      return;
    }
    const isMeta = word === 'HELP' || word === 'TYPE' || (word === 'UNIT' && this.openMetrics);
    if (!isMeta) {
      // An ordinary comment: 0.0.4 allows them anywhere.
      this.skipToLineEnd();
      return;
    }
    this.pos = wordEnd;
    this.skipBlanks();
    const nameStart = this.pos;
    const nameEnd = this.token();
    const name = s.slice(nameStart, nameEnd);
    if (name === '') this.fail(`expected metric name after "# ${word}", found ${this.here()}`);
    if (!isValidMetricName(name)) this.fail(`invalid metric name ${JSON.stringify(name)} in ${word} line`, nameStart);
    this.pos = nameEnd;
    this.skipBlanks();
    const restStart = this.pos;
    this.skipToLineEnd();
    let restEnd = this.pos;
    // HELP text keeps its trailing blanks (they are part of the docstring); TYPE and UNIT values do not.
    if (word === 'HELP') {
      if (restEnd > restStart && s.charCodeAt(restEnd - 1) === CH_CR) restEnd--;
    } else {
      while (restEnd > restStart && isBlank(s.charCodeAt(restEnd - 1))) restEnd--;
    }
    const rest = s.slice(restStart, restEnd);
    const family = this.family(name);
    if (word === 'HELP') {
      if (this.seenHelp.has(name)) this.fail(`second HELP line for metric ${JSON.stringify(name)}`, nameStart);
      this.seenHelp.add(name);
      family.help = unescapeHelp(rest, this.openMetrics);
    } else if (word === 'TYPE') {
      if (this.seenType.has(name)) this.fail(`second TYPE line for metric ${JSON.stringify(name)}`, nameStart);
      this.seenType.add(name);
      const allowed = this.openMetrics ? OPENMETRICS_TYPES : PROM_TYPES;
      if (!allowed.has(rest as MetricType)) {
        const list = [...allowed].join(', ');
        this.fail(`unknown metric type ${JSON.stringify(rest)} for ${JSON.stringify(name)} (expected one of ${list})`, restStart);
      }
      family.type = rest as MetricType;
      this.roles.clear();
      this.lastRoleName = '';
    } else {
      if (this.seenUnit.has(name)) this.fail(`second UNIT line for metric ${JSON.stringify(name)}`, nameStart);
      this.seenUnit.add(name);
      family.unit = rest;
    }
  }

  private family(name: string): MetricFamilyInfo {
    let family = this.families.get(name);
    if (family === undefined) {
      family = { type: this.openMetrics ? 'unknown' : 'untyped', help: '' };
      this.families.set(name, family);
    }
    return family;
  }

  private skipToLineEnd(): void {
    const nl = this.s.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.s.length : nl;
  }

  private sample(): void {
    const s = this.s;
    const nameStart = this.pos;
    if (!hasClass(s.charCodeAt(this.pos), METRIC_START)) this.fail(`expected metric name, found ${this.here()}`);
    const cache = this.cache;
    if (cache === undefined) {
      const labels = this.seriesPart(nameStart);
      const name = labels.__name__!;
      this.valuePart(name);
      const value = this.value;
      const t = this.t;
      const role = this.roleOf(name);
      if (role === ROLE_SKIP_CREATED) return;
      if (role === ROLE_BUCKET && labels.le === undefined)
        this.fail(`histogram bucket ${JSON.stringify(name)} has no "le" label`, nameStart);
      if (role === ROLE_QUANTILE && labels.quantile === undefined)
        this.fail(`summary ${JSON.stringify(name)} has no "quantile" label`, nameStart);
      this.samples.push(t === undefined ? { labels, value } : { labels, value, t });
      return;
    }
    // Known series text skips the label parse: it parsed to the same labels before.
    let series = this.cachedSeries(cache, nameStart);
    if (series === undefined) {
      const labels = this.seriesPart(nameStart);
      const parsed = { name: labels.__name__!, labels, hasLe: labels.le !== undefined, hasQuantile: labels.quantile !== undefined };
      series = cache.add(detached(s.slice(nameStart, this.seriesEnd)), detachedSeries(parsed));
    }
    this.valuePart(series.name);
    const role = this.roleOf(series.name);
    if (role === ROLE_SKIP_CREATED) return;
    if (role === ROLE_BUCKET && !series.hasLe) this.fail(`histogram bucket ${JSON.stringify(series.name)} has no "le" label`, nameStart);
    if (role === ROLE_QUANTILE && !series.hasQuantile)
      this.fail(`summary ${JSON.stringify(series.name)} has no "quantile" label`, nameStart);
    const batch = this.batch!;
    const i = batch.length++;
    batch.series.push(series);
    batch.v[i] = this.value;
    batch.t[i] = this.t === undefined ? Number.NaN : this.t;
  }

  /**
   * The cached series whose text starts the line at `start`, leaving `pos` at the value; undefined
   * on a miss. A cached text is a complete series text that parsed before, so a line starting with
   * it has that series: only the candidates are guessed here (up to the line's first `}`, or to its
   * first space for series without labels), natively and without a character loop. A label value
   * holding a `}` never hits and always takes the full parse, which stays correct.
   */
  private cachedSeries<E extends ParsedSeries>(cache: SeriesTextCache<E>, start: number): E | undefined {
    const s = this.s;
    if (this.nextLf < start) this.nextLf = indexOrEnd(s, '\n', start);
    const lineEnd = this.nextLf;
    const brace = s.indexOf('}', start);
    if (brace >= 0 && brace < lineEnd) {
      const hit = cache.get(s.slice(start, brace + 1));
      if (hit !== undefined) {
        this.pos = brace + 1;
        this.skipBlanks();
        return hit;
      }
    }
    const space = s.indexOf(' ', start);
    if (space < 0 || space >= lineEnd || (brace >= 0 && brace < space)) return undefined;
    const hit = cache.get(s.slice(start, space));
    if (hit === undefined) return undefined;
    this.pos = space;
    this.skipBlanks();
    // `name {labels}` is another series than `name`.
    if (s.charCodeAt(this.pos) === CH_LBRACE) return undefined;
    return hit;
  }

  /** The metric name and label set, leaving `pos` at the value and `seriesEnd` after the series text. */
  private seriesPart(nameStart: number): Labels {
    const s = this.s;
    this.pos = nameStart + 1;
    while (hasClass(s.charCodeAt(this.pos), METRIC_CHAR)) this.pos++;
    this.seriesEnd = this.pos;
    const name = s.slice(nameStart, this.pos);
    const labels: Labels = { __name__: name };
    const c = s.charCodeAt(this.pos);
    if (c === CH_LBRACE) {
      this.pos++;
      this.labelSet(labels);
      this.seriesEnd = this.pos;
      this.skipBlanks();
    } else if (isBlank(c)) {
      this.skipBlanks();
      if (s.charCodeAt(this.pos) === CH_LBRACE) {
        this.pos++;
        this.labelSet(labels);
        this.seriesEnd = this.pos;
        this.skipBlanks();
      }
    } else if (!this.atLineEnd()) {
      this.fail(`unexpected ${this.here()} after metric name ${JSON.stringify(name)}`);
    }
    return labels;
  }

  /** The value, timestamp and exemplar after the series, into `value` and `t` (no object per sample). */
  private valuePart(name: string): void {
    const s = this.s;
    if (this.atLineEnd()) this.fail(`expected value after ${JSON.stringify(name)}`);
    const valueStart = this.pos;
    const valueEnd = this.token();
    const value = parseFloatToken(s, valueStart, valueEnd);
    if (value === undefined) this.fail(`invalid value ${JSON.stringify(s.slice(valueStart, valueEnd))}`);
    this.pos = valueEnd;
    this.skipBlanks();
    let t = this.defaultTimestamp;
    let c = s.charCodeAt(this.pos);
    if (!this.atLineEnd() && c !== CH_HASH) {
      t = this.timestamp();
      this.skipBlanks();
      c = s.charCodeAt(this.pos);
    }
    if (c === CH_HASH) this.exemplar();
    else if (!this.atLineEnd()) this.fail(`unexpected ${this.here()} after timestamp`);
    this.value = value;
    this.t = t;
  }

  private timestamp(): number {
    const s = this.s;
    const start = this.pos;
    const end = this.token();
    let t: number | undefined;
    if (this.openMetrics) {
      // OpenMetrics timestamps are seconds with an optional fraction; round to whole ms so that
      // 1520879607.789 does not become ...788 through binary floating point.
      const seconds = parseFloatToken(s, start, end);
      t = seconds !== undefined && Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined;
    } else {
      t = parseIntegerToken(s, start, end);
    }
    if (t === undefined) this.fail(`invalid timestamp ${JSON.stringify(s.slice(start, end))}`);
    this.pos = end;
    return t;
  }

  /** `# {labels} value [timestamp]` after a sample: validated, then dropped. */
  private exemplar(): void {
    this.pos++; // '#'
    this.skipBlanks();
    if (this.s.charCodeAt(this.pos) !== CH_LBRACE) this.fail(`expected "{" to start an exemplar, found ${this.here()}`);
    this.pos++;
    this.labelSet({});
    this.skipBlanks();
    const valueStart = this.pos;
    const valueEnd = this.token();
    if (valueEnd === valueStart || parseFloatToken(this.s, valueStart, valueEnd) === undefined) {
      this.fail(`invalid exemplar value ${JSON.stringify(this.s.slice(valueStart, valueEnd))}`);
    }
    this.pos = valueEnd;
    this.skipBlanks();
    if (!this.atLineEnd()) {
      const tsEnd = this.token();
      if (parseFloatToken(this.s, this.pos, tsEnd) === undefined) {
        this.fail(`invalid exemplar timestamp ${JSON.stringify(this.s.slice(this.pos, tsEnd))}`);
      }
      this.pos = tsEnd;
      this.skipBlanks();
      if (!this.atLineEnd()) this.fail(`unexpected ${this.here()} after exemplar`);
    }
  }

  /** Parses `name="value", ...}` with `pos` just after the `{`, adding to `labels`. */
  private labelSet(labels: Labels): void {
    const s = this.s;
    for (;;) {
      this.skipBlanks();
      let c = s.charCodeAt(this.pos);
      if (c === CH_RBRACE) {
        this.pos++;
        return;
      }
      const nameStart = this.pos;
      if (!hasClass(c, LABEL_START)) this.fail(`expected label name or "}", found ${this.here()}`);
      this.pos++;
      while (hasClass(s.charCodeAt(this.pos), LABEL_CHAR)) this.pos++;
      const labelName = s.slice(nameStart, this.pos);
      this.skipBlanks();
      if (s.charCodeAt(this.pos) !== CH_EQUALS)
        this.fail(`expected "=" after label name ${JSON.stringify(labelName)}, found ${this.here()}`);
      this.pos++;
      this.skipBlanks();
      if (s.charCodeAt(this.pos) !== CH_QUOTE)
        this.fail(`expected '"' to start the value of label ${JSON.stringify(labelName)}, found ${this.here()}`);
      this.pos++;
      const value = this.labelValue(labelName);
      // Every value we store is a string and nothing on Object.prototype is, so this is an own-key check.
      if (typeof labels[labelName] === 'string') this.fail(`duplicate label name ${JSON.stringify(labelName)}`, nameStart);
      if (labelName === '__proto__') {
        // A legal Prometheus label name; plain assignment would set the object's prototype instead.
        Object.defineProperty(labels, labelName, { value, enumerable: true, writable: true, configurable: true });
      } else {
        labels[labelName] = value;
      }
      this.skipBlanks();
      c = s.charCodeAt(this.pos);
      if (c === CH_COMMA) this.pos++;
      else if (c !== CH_RBRACE)
        this.fail(`expected "," or "}" after the value of label ${JSON.stringify(labelName)}, found ${this.here()}`);
    }
  }

  /** Reads a label value with `pos` just after the opening quote; leaves `pos` after the closing one. */
  private labelValue(labelName: string): string {
    const s = this.s;
    const start = this.pos;
    // Fast path: most values have no escapes and can be sliced straight out of the input. The next
    // backslash and line feed positions are cached, so the native indexOf scans are amortised linear.
    const quote = s.indexOf('"', start);
    if (this.nextBackslash < start) this.nextBackslash = indexOrEnd(s, '\\', start);
    if (this.nextLf < start) this.nextLf = indexOrEnd(s, '\n', start);
    if (quote >= 0 && quote < this.nextBackslash && quote < this.nextLf) {
      this.pos = quote + 1;
      return s.slice(start, quote);
    }
    let i = Math.min(this.nextBackslash, this.nextLf);
    let out = s.slice(start, i);
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === CH_QUOTE) {
        this.pos = i + 1;
        return out;
      }
      if (c === CH_LF || i >= s.length) {
        this.pos = i;
        this.fail(`unterminated value of label ${JSON.stringify(labelName)}`);
      }
      if (c === CH_BACKSLASH) {
        const next = s[i + 1];
        if (next === '\\') out += '\\';
        else if (next === '"') out += '"';
        else if (next === 'n') out += '\n';
        else {
          this.pos = i;
          this.fail(
            `invalid escape sequence "\\${next === undefined || next === '\n' ? '' : next}" in value of label ${JSON.stringify(labelName)}`,
          );
        }
        i += 2;
        continue;
      }
      const runStart = i;
      while (i < s.length) {
        const d = s.charCodeAt(i);
        if (d === CH_QUOTE || d === CH_BACKSLASH || d === CH_LF) break;
        i++;
      }
      out += s.slice(runStart, i);
    }
  }

  private roleOf(name: string): number {
    // Samples of one series family come in runs, so the previous answer is usually the right one.
    if (name === this.lastRoleName) return this.lastRole;
    let role = this.roles.get(name);
    if (role === undefined) {
      role = sampleRole(name, this.families, this.seenType);
      this.roles.set(name, role);
    }
    this.lastRoleName = name;
    this.lastRole = role;
    return role;
  }
}
