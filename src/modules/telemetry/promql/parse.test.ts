import { describe, expect, it } from 'vitest';
import { PromqlSyntaxError, UnsupportedPromqlError } from './errors.js';
import { parsePromql } from './parse.js';

function syntaxError(q: string): PromqlSyntaxError {
  try {
    parsePromql(q);
  } catch (e) {
    if (e instanceof PromqlSyntaxError) return e;
    throw e;
  }
  throw new Error(`expected a syntax error for ${q}`);
}

describe('parsePromql', () => {
  it('builds selectors with name, matchers, range, offset and @', () => {
    expect(parsePromql('rate(x{a="b",c=~"d.*"}[1m30s] offset -5m @ 100.5)')).toEqual({
      type: 'call',
      func: 'rate',
      args: [
        {
          type: 'matrixSelector',
          rangeMs: 90_000,
          selector: {
            type: 'vectorSelector',
            name: 'x',
            matchers: [
              { name: '__name__', op: '=', value: 'x' },
              { name: 'a', op: '=', value: 'b' },
              { name: 'c', op: '=~', value: 'd.*' },
            ],
            offsetMs: -300_000,
            at: { kind: 'time', ms: 100_500 },
          },
        },
      ],
    });
  });

  it('reads aggregations with by/without in either position and parameters', () => {
    expect(parsePromql('sum without (a) (x)')).toMatchObject({ type: 'aggregate', op: 'sum', without: true, grouping: ['a'] });
    expect(parsePromql('topk(3, x) by (a, b)')).toMatchObject({ op: 'topk', grouping: ['a', 'b'], param: { type: 'number', value: 3 } });
    expect(parsePromql('count_values("v", x)')).toMatchObject({ op: 'count_values', param: { type: 'string', value: 'v' } });
  });

  it('applies precedence: unary minus binds looser than ^, ^ is right-associative', () => {
    expect(parsePromql('-2 ^ 2')).toEqual({
      type: 'unary',
      op: '-',
      expr: { type: 'binary', op: '^', lhs: { type: 'number', value: 2 }, rhs: { type: 'number', value: 2 }, bool: false },
    });
    expect(parsePromql('2 ^ 3 ^ 2')).toMatchObject({ op: '^', lhs: { value: 2 }, rhs: { op: '^' } });
    expect(parsePromql('1 + 2 * 3')).toMatchObject({ op: '+', rhs: { op: '*' } });
    expect(parsePromql('-1')).toEqual({ type: 'number', value: -1 });
  });

  it('binds offset, @ and ranges to the operand right before them', () => {
    expect(parsePromql('a + b offset 5m')).toMatchObject({ lhs: { name: 'a', offsetMs: 0 }, rhs: { name: 'b', offsetMs: 300_000 } });
    expect(parsePromql('a * -b @ 10')).toMatchObject({ rhs: { type: 'unary', expr: { name: 'b', at: { kind: 'time', ms: 10_000 } } } });
    expect(() => parsePromql('sum(a) + rate(b[1m]) offset 1m')).toThrow('offset modifier must be preceded by');
    expect(() => parsePromql('a + b[5m]')).toThrow('binary expression must contain only scalar and instant vector types');
    expect(() => parsePromql('(a + b) offset 5m')).toThrow('offset modifier must be preceded by');
    expect(() => parsePromql('-b[5m]')).toThrow(
      'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"',
    );
  });

  it('reads number literals: hex, Inf, NaN, exponents, durations as seconds', () => {
    const n = (q: string) => (parsePromql(q) as { value: number }).value;
    expect(n('0x1F')).toBe(31);
    expect(n('Inf')).toBe(Number.POSITIVE_INFINITY);
    expect(n('-inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(n('NaN')).toBeNaN();
    expect(n('1.5e3')).toBe(1500);
    expect(n('1m')).toBe(60);
  });

  it('unquotes strings like Go', () => {
    expect(parsePromql('"a\\tb\\"c\\u00e9"')).toEqual({ type: 'string', value: 'a\tb"cé' });
    expect(parsePromql("'it\\'s'")).toEqual({ type: 'string', value: "it's" });
    expect(parsePromql('`raw\\n`')).toEqual({ type: 'string', value: 'raw\\n' });
  });

  it('reads vector matching clauses', () => {
    expect(parsePromql('a * on(x) group_left(y) b')).toMatchObject({
      matching: { card: 'many-to-one', on: true, labels: ['x'], include: ['y'] },
    });
    expect(parsePromql('a / ignoring(x) group_right b')).toMatchObject({ matching: { card: 'one-to-many', on: false, labels: ['x'] } });
    expect(parsePromql('a and b')).toMatchObject({ matching: { card: 'many-to-many' } });
    expect(parsePromql('a > bool b')).toMatchObject({ bool: true, matching: { card: 'one-to-one' } });
    expect(parsePromql('a + 1')).not.toHaveProperty('matching');
  });

  it('accepts quoted metric and label names', () => {
    expect(parsePromql('{"my.metric", "a.b"="c"}')).toMatchObject({
      name: 'my.metric',
      matchers: [
        { name: '__name__', value: 'my.metric' },
        { name: 'a.b', value: 'c' },
      ],
    });
  });

  it('reports syntax errors with position, line and column', () => {
    const e = syntaxError('sum(rate(x[5m])');
    expect(e.position).toBe(15);
    expect(e.message).toBe('unexpected end of input');
    const multi = syntaxError('sum(\n  x +\n)');
    expect(multi.line).toBe(3);
    expect(multi.column).toBe(1);
    expect(syntaxError('foo(x)').message).toBe('unknown function with name "foo"');
    expect(syntaxError('x{a="b" c="d"}').position).toBeGreaterThan(0);
  });

  it.each([
    ['rate(x)', 'expected type range vector in call to function "rate", got instant vector'],
    ['sum(1)', 'expected type instant vector in aggregation expression, got scalar'],
    ['topk("a", x)', 'expected type scalar in aggregation parameter, got string'],
    ['1 > 2', 'comparisons between scalars must use BOOL modifier'],
    ['x + bool 1', 'bool modifier can only be used on comparison operators'],
    ['1 and x', 'set operator "and" not allowed in binary scalar expression'],
    ['x and on(a) group_left b', 'no grouping allowed for "and" operation'],
    ['x[5m] + 1', 'binary expression must contain only scalar and instant vector types'],
    ['1 + on(a) 2', 'vector matching only allowed between instant vectors'],
    ['-"a"', 'unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
    ['{a=""}', 'vector selector must contain at least one non-empty matcher'],
    ['x{__name__="y"}', 'metric name must not be set twice: "x" or "y"'],
    ['round(x, 1, 2)', 'expected at most 2 argument(s) in call to "round", got 3'],
    ['label_join(x, "a")', 'expected at least 3 argument(s) in call to "label_join", got 2'],
    ['time(1)', 'expected 0 argument(s) in call to "time", got 1'],
    ['quantile(x)', 'wrong number of arguments for aggregate expression provided, expected 2, got 1'],
    ['x offset 1m offset 2m', 'offset may not be set multiple times'],
    ['sum(x) offset 1m', 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['x{a=~"("}', 'error parsing regexp'],
  ])('type-checks %s', (q, message) => {
    expect(syntaxError(q).message).toContain(message);
  });

  it.each([
    ['predict_linear(x[5m], 60)', 'function "predict_linear"'],
    ['rate(x[5m:1m])', 'subquery'],
    ['limitk(2, x)', 'aggregation "limitk"'],
    ['x[5m+1m]', 'duration expression'],
  ])('rejects %s as unsupported, naming it', (q, feature) => {
    expect(() => parsePromql(q)).toThrow(UnsupportedPromqlError);
    expect(() => parsePromql(q)).toThrow(
      `${feature} is not supported by the built-in store; use a MetricsProvider of type prometheus for this query`,
    );
  });
});
