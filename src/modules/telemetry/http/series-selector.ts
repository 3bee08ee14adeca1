import type { LabelMatcher } from '../contracts.js';
import { parsePromql } from '../promql/index.js';

/**
 * The matchers of a `match[]` series selector such as `up{job="feed"}`; anything else is an error.
 * The parser already refuses selectors whose every matcher matches the empty string.
 */
export function parseSeriesSelector(text: string): LabelMatcher[] {
  const expr = parsePromql(text);
  if (expr.type !== 'vectorSelector') throw new Error(`"${text}" is not a series selector`);
  return expr.matchers;
}
