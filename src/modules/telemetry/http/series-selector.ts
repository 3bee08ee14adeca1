import type { LabelMatcher } from '../contracts.js';
import { parsePromql } from '../promql/index.js';

/** The matchers of a `match[]` series selector such as `up{job="feed"}`; anything else is an error. */
export function parseSeriesSelector(text: string): LabelMatcher[] {
  const expr = parsePromql(text);
  if (expr.type !== 'vectorSelector') throw new Error(`"${text}" is not a series selector`);
  if (!expr.matchers.some((m) => (m.op === '=' ? m.value !== '' : m.op === '=~' ? !new RegExp(`^(?:${m.value})$`).test('') : false))) {
    throw new Error(`match[] "${text}" must contain at least one matcher that does not match the empty string`);
  }
  return expr.matchers;
}
