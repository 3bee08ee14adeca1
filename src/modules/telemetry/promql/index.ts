export type * from './ast.js';
export { PromqlRuntimeError, PromqlSyntaxError, UnsupportedPromqlError } from './errors.js';
export { DEFAULT_LOOKBACK_MS, evaluateInstant, evaluateRange, type InstantQuery, type RangeQuery, selectorsOf } from './evaluate.js';
export { formatValue } from './format.js';
export { MemorySeriesSource } from './memory-source.js';
export { parsePromql } from './parse.js';
