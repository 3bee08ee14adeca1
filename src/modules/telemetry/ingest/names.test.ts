import { describe, expect, it } from 'vitest';
import type { Sample } from '../contracts.js';
import { checkLimits, isValidLabelName, isValidMetricName, sanitizeLabelName, sanitizeMetricName } from './index.js';
import { prometheusMetricName, unitSuffix } from './names.js';

describe('names', () => {
  it('validates classic Prometheus names', () => {
    expect(['a', ':a', 'a_b:c9', '_'].every(isValidMetricName)).toBe(true);
    expect(['', '9a', 'a-b', 'a.b', 'é'].some(isValidMetricName)).toBe(false);
    expect(['a', '_a', 'A9'].every(isValidLabelName)).toBe(true);
    expect([':a', 'a:b', '9', ''].some(isValidLabelName)).toBe(false);
  });

  it('sanitises OTel names: invalid runs and repeated underscores become one underscore', () => {
    expect(sanitizeMetricName('http.server..duration(ms)')).toBe('http_server_duration_ms_');
    expect(sanitizeMetricName('9lives')).toBe('_9lives');
    expect(sanitizeLabelName('__name__')).toBe('_name_');
    expect(sanitizeLabelName('http.route')).toBe('http_route');
    expect(sanitizeLabelName('0day')).toBe('key_0day');
  });

  it('spells out units and adds type suffixes once', () => {
    expect(unitSuffix('{packets}', false)).toBe('');
    expect(unitSuffix('1', true)).toBe('ratio');
    expect(unitSuffix('1', false)).toBe('');
    expect(unitSuffix('m/s', true)).toBe('meters_per_second');
    expect(unitSuffix('{req}/s', true)).toBe('per_second');
    expect(prometheusMetricName({ name: 'latency_seconds', unit: 's', kind: 'histogram' })).toBe('latency_seconds');
    expect(prometheusMetricName({ name: 'bytes.sent', unit: 'By', kind: 'counter' })).toBe('bytes_sent_bytes_total');
    expect(prometheusMetricName({ name: 'sent_bytes_total', unit: 'By', kind: 'counter' })).toBe('sent_bytes_total');
  });
});

describe('checkLimits', () => {
  it('reports each exceeded limit with the sample index', () => {
    const samples: Sample[] = [
      { labels: { __name__: 'ok', a: '1' }, value: 1 },
      { labels: { __name__: 'wide', a: 'x'.repeat(20), long_label_name: '1' }, value: 1 },
    ];
    expect(checkLimits(samples, { maxLabelNameLength: 10, maxLabelValueLength: 10, maxLabels: 2 })).toEqual([
      { index: 1, series: 'wide', message: 'value of label "a" is 20 characters, over the limit of 10' },
      { index: 1, series: 'wide', message: 'label name "long_label_name" is 15 characters, over the limit of 10' },
      { index: 1, series: 'wide', message: 'series has 3 labels, over the limit of 2' },
    ]);
    expect(checkLimits(samples, {})).toEqual([]);
  });
});
