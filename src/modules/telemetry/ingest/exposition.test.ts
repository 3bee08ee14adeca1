import { describe, expect, it } from 'vitest';
import type { Sample } from '../contracts.js';
import { BoundedSeriesCache, ExpositionError, type ParsedSeries, parseExposition, parseExpositionBatch } from './index.js';

const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

const cases: Array<{ name: string; text: string; contentType?: string; defaultTimestamp?: number; samples: Sample[] }> = [
  {
    name: 'the classic 0.0.4 example with HELP, TYPE, timestamps and escapes',
    text: [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# Escaping in label values:',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      '',
    ].join('\n'),
    samples: [
      { labels: { __name__: 'http_requests_total', method: 'post', code: '200' }, value: 1027, t: 1395066363000 },
      { labels: { __name__: 'http_requests_total', method: 'post', code: '400' }, value: 3, t: 1395066363000 },
      {
        labels: { __name__: 'msdos_file_access_time_seconds', path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' },
        value: 1.458255915e9,
      },
      { labels: { __name__: 'metric_without_timestamp_and_labels' }, value: 12.47 },
      { labels: { __name__: 'something_weird', problem: 'division by zero' }, value: Number.POSITIVE_INFINITY, t: -3982045 },
    ],
  },
  {
    name: 'special floats, exponents, trailing comma, blanks and CRLF',
    text: 'a NaN\r\nb -Inf\nc +inf\nd 1e-3\ne{x="1",} .5\nf { y = "2" } -7E+2 \n',
    samples: [
      { labels: { __name__: 'a' }, value: Number.NaN },
      { labels: { __name__: 'b' }, value: Number.NEGATIVE_INFINITY },
      { labels: { __name__: 'c' }, value: Number.POSITIVE_INFINITY },
      { labels: { __name__: 'd' }, value: 0.001 },
      { labels: { __name__: 'e', x: '1' }, value: 0.5 },
      { labels: { __name__: 'f', y: '2' }, value: -700 },
    ],
  },
  {
    name: 'histogram and summary suffixes; defaultTimestamp fills in missing timestamps',
    defaultTimestamp: 5000,
    text: [
      '# TYPE rpc_seconds histogram',
      'rpc_seconds_bucket{le="0.1"} 1',
      'rpc_seconds_bucket{le="+Inf"} 2 1000',
      'rpc_seconds_sum 0.3',
      'rpc_seconds_count 2',
      '# TYPE q summary',
      'q{quantile="0.5"} 0.1',
      'q_sum 1',
      'q_count 4',
    ].join('\n'),
    samples: [
      { labels: { __name__: 'rpc_seconds_bucket', le: '0.1' }, value: 1, t: 5000 },
      { labels: { __name__: 'rpc_seconds_bucket', le: '+Inf' }, value: 2, t: 1000 },
      { labels: { __name__: 'rpc_seconds_sum' }, value: 0.3, t: 5000 },
      { labels: { __name__: 'rpc_seconds_count' }, value: 2, t: 5000 },
      { labels: { __name__: 'q', quantile: '0.5' }, value: 0.1, t: 5000 },
      { labels: { __name__: 'q_sum' }, value: 1, t: 5000 },
      { labels: { __name__: 'q_count' }, value: 4, t: 5000 },
    ],
  },
  {
    name: 'OpenMetrics: seconds timestamps, _created dropped, exemplars ignored, detected by # EOF',
    text: [
      '# TYPE acme_http_router_request_seconds histogram',
      '# UNIT acme_http_router_request_seconds seconds',
      '# HELP acme_http_router_request_seconds Latency "quoted" \\"escaped\\"',
      'acme_http_router_request_seconds_bucket{le="0.1"} 8 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.067 1520879602.977',
      'acme_http_router_request_seconds_bucket{le="+Inf"} 9',
      'acme_http_router_request_seconds_sum 1.2e-2',
      'acme_http_router_request_seconds_count 9',
      'acme_http_router_request_seconds_created 1520430000.123',
      '# TYPE jobs counter',
      'jobs_total 3 # {id="x"} 1',
      'jobs_created 1520430000',
      '# EOF',
      '',
    ].join('\n'),
    samples: [
      { labels: { __name__: 'acme_http_router_request_seconds_bucket', le: '0.1' }, value: 8, t: 1520879607789 },
      { labels: { __name__: 'acme_http_router_request_seconds_bucket', le: '+Inf' }, value: 9 },
      { labels: { __name__: 'acme_http_router_request_seconds_sum' }, value: 0.012 },
      { labels: { __name__: 'acme_http_router_request_seconds_count' }, value: 9 },
      { labels: { __name__: 'jobs_total' }, value: 3 },
    ],
  },
  {
    name: '0.0.4 keeps an explicitly typed _created gauge but drops the one of a typed counter',
    text: '# TYPE a_total counter\na_total 1\na_created 2\n# TYPE b_created gauge\nb_total 1\nb_created 3\n',
    samples: [
      { labels: { __name__: 'a_total' }, value: 1 },
      { labels: { __name__: 'b_total' }, value: 1 },
      { labels: { __name__: 'b_created' }, value: 3 },
    ],
  },
  {
    name: 'a __proto__ label is an ordinary label',
    text: 'x{__proto__="p",constructor="c"} 1',
    samples: [{ labels: JSON.parse('{"__name__":"x","__proto__":"p","constructor":"c"}'), value: 1 }],
  },
  { name: 'empty input', text: '', samples: [] },
  {
    name: 'OpenMetrics by content type',
    contentType: OM,
    text: 'a 1 1.5\n# EOF',
    samples: [{ labels: { __name__: 'a' }, value: 1, t: 1500 }],
  },
];

describe('parseExposition: valid inputs', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { samples } = parseExposition(c.text, { contentType: c.contentType, defaultTimestamp: c.defaultTimestamp });
      expect(samples).toEqual(c.samples);
      for (const s of samples) expect(Object.getPrototypeOf(s.labels)).toBe(Object.prototype);
    });
  }

  it('returns the families with their types and unescaped help', () => {
    const { families } = parseExposition('# HELP a Line one\\nline \\\\two\n# TYPE a gauge\n# HELP b only help\na 1\n');
    expect(families).toEqual(
      new Map([
        ['a', { type: 'gauge', help: 'Line one\nline \\two' }],
        ['b', { type: 'untyped', help: 'only help' }],
      ]),
    );
    const om = parseExposition('# TYPE c counter\n# UNIT c seconds\n# EOF\n').families;
    expect(om.get('c')).toEqual({ type: 'counter', help: '', unit: 'seconds' });
  });

  it('treats # EOF as a comment in 0.0.4 when the content type says text/plain', () => {
    expect(parseExposition('a 1\n# EOF\nb 2\n', { contentType: 'text/plain; version=0.0.4' }).samples).toHaveLength(2);
  });
});

const errors: Array<[string, string, string | undefined]> = [
  ['a{code 1} 2', 'line 1, column 8: expected "=" after label name "code", found "1"', undefined],
  ['ok 1\nhttp_requests{method="GET",code 1} 2', 'line 2, column 33: expected "=" after label name "code", found "1"', undefined],
  ['a{code="1",code="2"} 1', 'line 1, column 12: duplicate label name "code"', undefined],
  ['a{__name__="b"} 1', 'line 1, column 3: duplicate label name "__name__"', undefined],
  ['a{x=1} 1', 'line 1, column 5: expected \'"\' to start the value of label "x", found "1"', undefined],
  ['a{x="1" y="2"} 1', 'line 1, column 9: expected "," or "}" after the value of label "x", found "y"', undefined],
  ['a{1x="1"} 1', 'line 1, column 3: expected label name or "}", found "1"', undefined],
  ['a{x="1\n"} 1', 'line 1, column 7: unterminated value of label "x"', undefined],
  ['a{x="ab\\t"} 1', 'line 1, column 8: invalid escape sequence "\\t" in value of label "x"', undefined],
  ['a{x="1"}', 'line 1, column 9: expected value after "a"', undefined],
  ['a', 'line 1, column 2: expected value after "a"', undefined],
  ['a 1x', 'line 1, column 3: invalid value "1x"', undefined],
  ['a 0x10', 'line 1, column 3: invalid value "0x10"', undefined],
  ['a Infinityy', 'line 1, column 3: invalid value "Infinityy"', undefined],
  ['a 1 2.5', 'line 1, column 5: invalid timestamp "2.5"', undefined],
  ['a 1 2 3', 'line 1, column 7: unexpected "3" after timestamp', undefined],
  ['a-b 1', 'line 1, column 2: unexpected "-" after metric name "a"', undefined],
  ['1a 1', 'line 1, column 1: expected metric name, found "1"', undefined],
  ['\n\n  {x="1"} 1', 'line 3, column 3: expected metric name, found "{"', undefined],
  [
    '# TYPE a foo',
    'line 1, column 10: unknown metric type "foo" for "a" (expected one of counter, gauge, histogram, summary, untyped)',
    undefined,
  ],
  ['# TYPE a counter\n# TYPE a gauge', 'line 2, column 8: second TYPE line for metric "a"', undefined],
  ['# HELP 9a x', 'line 1, column 8: invalid metric name "9a" in HELP line', undefined],
  ['# TYPE h histogram\nh_bucket 1', 'line 2, column 1: histogram bucket "h_bucket" has no "le" label', undefined],
  ['# TYPE s summary\ns{x="1"} 1', 'line 2, column 1: summary "s" has no "quantile" label', undefined],
  ['a 1 # x', 'line 1, column 7: expected "{" to start an exemplar, found "x"', undefined],
  ['a 1\n', 'line 2, column 1: expected "# EOF" at the end of an OpenMetrics exposition', OM],
  ['a 1\n# EOF\nb 2\n', 'line 3, column 1: unexpected content after "# EOF"', OM],
  ['a 1\n# EOF\n\n  x\n', 'line 4, column 3: unexpected content after "# EOF"', OM],
  ['a 1 NaN\n# EOF\n', 'line 1, column 5: invalid timestamp "NaN"', OM],
  [
    '# TYPE a untyped\n# EOF\n',
    'line 1, column 10: unknown metric type "untyped" for "a" (expected one of counter, gauge, histogram, summary, unknown, gaugehistogram, stateset, info)',
    OM,
  ],
];

describe('parseExposition: errors name the line and column', () => {
  for (const [text, message, contentType] of errors) {
    it(message, () => {
      let caught: unknown;
      try {
        parseExposition(text, { contentType });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ExpositionError);
      const err = caught as ExpositionError;
      expect(err.message).toBe(message);
      const [, line, column] = /^line (\d+), column (\d+)/.exec(message)!;
      expect([err.line, err.column]).toEqual([Number(line), Number(column)]);
      expect(err.status).toBe(400);
      expect(err.toBody().error.details).toEqual({ line: err.line, column: err.column });
    });
  }
});

/** parseExpositionBatch's samples in parseExposition's shape. */
function batchSamples(text: string, cache: BoundedSeriesCache<ParsedSeries>, contentType?: string, defaultTimestamp?: number): Sample[] {
  const batch = parseExpositionBatch(text, cache, { contentType });
  return Array.from({ length: batch.length }, (_, i) => {
    const t = Number.isNaN(batch.t[i]!) ? defaultTimestamp : batch.t[i]!;
    return { labels: batch.series[i]!.labels, value: batch.v[i]!, ...(t === undefined ? {} : { t }) };
  });
}

describe('parseExpositionBatch: series looked up by their raw text', () => {
  for (const c of cases) {
    it(`parses as parseExposition does, cold and warm: ${c.name}`, () => {
      const cache = new BoundedSeriesCache<ParsedSeries>((p) => p);
      expect(batchSamples(c.text, cache, c.contentType, c.defaultTimestamp)).toEqual(c.samples);
      expect(batchSamples(c.text, cache, c.contentType, c.defaultTimestamp)).toEqual(c.samples);
    });
  }

  it('reports the same errors, also for lines whose series text is cached', () => {
    const cache = new BoundedSeriesCache<ParsedSeries>((p) => p);
    parseExpositionBatch('h_bucket{a="1"} 1\ns{x="1"} 2\na{x="}"} 3\n', cache);
    expect(cache.size).toBe(3);
    for (const [text, message, contentType] of [
      ...errors,
      ['# TYPE h histogram\nh_bucket{a="1"} 1', 'line 2, column 1: histogram bucket "h_bucket" has no "le" label', undefined],
      ['# TYPE s summary\ns{x="1"} 1', 'line 2, column 1: summary "s" has no "quantile" label', undefined],
      ['a{x="}"} 3 x', 'line 1, column 12: invalid timestamp "x"', undefined],
    ] as const) {
      expect(() => parseExpositionBatch(text, cache, { contentType }), text).toThrow(message);
      expect(() => parseExpositionBatch(text, cache, { contentType }), `${text} (warm)`).toThrow(message);
    }
  });

  it('shares one parsed series between lines and parses with the same spelling only', () => {
    const cache = new BoundedSeriesCache<ParsedSeries>((p) => ({ ...p }));
    const a = parseExpositionBatch('m{a="1",b="2"} 1\nm {a="1", b="2"} 2\n', cache);
    const b = parseExpositionBatch('m{a="1",b="2"} 3 1000\n', cache);
    expect(b.series[0]).toBe(a.series[0]);
    expect(a.series[1]).not.toBe(a.series[0]);
    expect(a.series[1]!.labels).toEqual(a.series[0]!.labels);
    expect([b.v[0], b.t[0]]).toEqual([3, 1000]);
  });

  it('tells apart series whose texts start alike', () => {
    const cache = new BoundedSeriesCache<ParsedSeries>((p) => p);
    const text = 'm 1\nm {a="1"} 2\nm\t3\nm{a="}"} 4\nm{a="}",b="2"} 5\nm 6 # {t="x"} 1\nm{a="1"} 7\n';
    const expected = parseExposition(text).samples;
    expect(expected.map((x) => Object.keys(x.labels).length)).toEqual([1, 2, 1, 2, 3, 1, 2]);
    for (let i = 0; i < 3; i++) expect(batchSamples(text, cache)).toEqual(expected);
  });

  it('starts over past its bound', () => {
    const cache = new BoundedSeriesCache<ParsedSeries>((p) => p, 2);
    parseExpositionBatch('a 1\nb 1\nc 1\n', cache);
    expect(cache.size).toBe(1);
  });
});
