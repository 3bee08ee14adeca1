import type { ValueType } from './ast.js';

export interface FunctionDef {
  args: ValueType[];
  /** Minimum argument count when optional/repeated arguments exist (the last arg type repeats). */
  minArgs?: number;
  /** Maximum argument count; Infinity for label_join's source labels. */
  maxArgs?: number;
  returns: ValueType;
}

const V: ValueType = 'instant vector';
const M: ValueType = 'range vector';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

const mathFn: FunctionDef = { args: [V], returns: V };
const overTime: FunctionDef = { args: [M], returns: V };

/** The supported subset, with Prometheus' signatures. */
export const FUNCTIONS: Record<string, FunctionDef> = {
  abs: mathFn,
  ceil: mathFn,
  floor: mathFn,
  exp: mathFn,
  ln: mathFn,
  log2: mathFn,
  log10: mathFn,
  sqrt: mathFn,
  round: { args: [V, S], minArgs: 1, maxArgs: 2, returns: V },
  clamp: { args: [V, S, S], returns: V },
  clamp_min: { args: [V, S], returns: V },
  clamp_max: { args: [V, S], returns: V },
  vector: { args: [S], returns: V },
  scalar: { args: [V], returns: S },
  time: { args: [], returns: S },
  timestamp: { args: [V], returns: V },
  sort: { args: [V], returns: V },
  sort_desc: { args: [V], returns: V },
  label_replace: { args: [V, STR, STR, STR, STR], returns: V },
  label_join: { args: [V, STR, STR, STR], minArgs: 3, maxArgs: Number.POSITIVE_INFINITY, returns: V },
  absent: { args: [V], returns: V },
  histogram_quantile: { args: [S, V], returns: V },
  rate: overTime,
  irate: overTime,
  increase: overTime,
  delta: overTime,
  idelta: overTime,
  avg_over_time: overTime,
  min_over_time: overTime,
  max_over_time: overTime,
  sum_over_time: overTime,
  count_over_time: overTime,
  last_over_time: overTime,
  stddev_over_time: overTime,
  stdvar_over_time: overTime,
  present_over_time: overTime,
  quantile_over_time: { args: [S, M], returns: V },
};
