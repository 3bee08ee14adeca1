import type { QueryData } from '../contracts.js';
import { formatValue, toPromTime } from './format.js';
import { compareLabels } from './labels.js';
import type { Value } from './values.js';

/** Converts an evaluated value to the Prometheus HTTP API's `data` shape. */
export function toQueryData(value: Value, times: number[], isRange: boolean): QueryData {
  switch (value.kind) {
    case 'string':
      return { resultType: 'string', result: [toPromTime(times[0]!), value.value] };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: value.series.map((s) => ({ metric: s.labels, values: s.t.map((t, i) => [toPromTime(t), formatValue(s.v[i]!)]) })),
      };
    case 'scalar':
      if (!isRange) return { resultType: 'scalar', result: [toPromTime(times[0]!), formatValue(value.values[0]!)] };
      return {
        resultType: 'matrix',
        result: [{ metric: {}, values: times.map((t, i) => [toPromTime(t), formatValue(value.values[i]!)]) }],
      };
    case 'vector': {
      if (!isRange) {
        const t = toPromTime(times[0]!);
        return {
          resultType: 'vector',
          result: value.series.filter((s) => s.present[0]).map((s) => ({ metric: s.labels, value: [t, formatValue(s.values[0]!)] })),
        };
      }
      const result = value.series
        .map((s) => ({
          metric: s.labels,
          values: times.flatMap((t, i): Array<[number, string]> => (s.present[i] ? [[toPromTime(t), formatValue(s.values[i]!)]] : [])),
        }))
        .filter((s) => s.values.length > 0)
        .sort((a, b) => compareLabels(a.metric, b.metric));
      return { resultType: 'matrix', result };
    }
  }
}
