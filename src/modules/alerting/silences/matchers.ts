import { matcherPredicate } from '../../telemetry/promql/labels.js';

/** A matcher in Alertmanager's API v2 shape. */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/** `alertname=HighErrors`, `service=~"feed|search"`, `env!=prod`, `job!~batch.*` → a matcher, or why not. */
export function parseMatcher(text: string): SilenceMatcher | string {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/.exec(text);
  if (!m) return `"${text}" is not a matcher: use name=value, name!=value, name=~regex or name!~regex`;
  let value = m[3]!;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  const op = m[2]!;
  const matcher = { name: m[1]!, value, isRegex: op.includes('~'), isEqual: !op.startsWith('!') };
  if (matcher.isRegex) {
    try {
      new RegExp(value);
    } catch (err) {
      return `"${text}": invalid regex: ${(err as Error).message}`;
    }
  }
  return matcher;
}

/** One predicate for a set of matchers; labels missing from a set match as "" (as in Alertmanager). */
export function matchersPredicate(matchers: SilenceMatcher[]): (labels: Record<string, string>) => boolean {
  const tests = matchers.map((m) => ({
    name: m.name,
    test: matcherPredicate({ name: m.name, op: m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=', value: m.value }),
  }));
  return (labels) => tests.every((t) => t.test(labels[t.name] ?? ''));
}

export function formatMatcher(m: SilenceMatcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}
