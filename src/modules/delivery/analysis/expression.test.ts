import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkExpression, compileCondition, EvaluationError, evaluate, type Value } from './evaluate.js';
import { ParseError, parseExpression } from './expression.js';

const run = (text: string, scope: Record<string, Value> = {}) => evaluate(parseExpression(text), scope);

function parseError(text: string): ParseError {
  try {
    parseExpression(text);
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
  throw new Error(`'${text}' parsed`);
}

function evaluationError(text: string, scope: Record<string, Value>): EvaluationError {
  try {
    run(text, scope);
  } catch (err) {
    if (err instanceof EvaluationError) return err;
    throw err;
  }
  throw new Error(`'${text}' evaluated`);
}

describe('expressions', () => {
  it('computes with numbers, strings and booleans with the usual precedence', () => {
    expect(run('1 + 2 * 3')).toBe(7);
    expect(run('(1 + 2) * 3')).toBe(9);
    expect(run('10 - 4 - 3')).toBe(3);
    expect(run('-2 * -3 + 7 % 4')).toBe(9);
    expect(run('1.5e2 / .5')).toBe(300);
    expect(run("'can' + 'ary'")).toBe('canary');
    expect(run('1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4 == false')).toBe(true);
    expect(run('!true || 1 != 1')).toBe(false);
    expect(run('not false and (true or false)')).toBe(true);
    expect(run('null == null && [1, 2] == [1, 2]')).toBe(true);
  });

  it('reads result and args: fields, indexes, len, in, number()', () => {
    const scope: Record<string, Value> = {
      result: { p99: 230, series: [0.5, 0.97], labels: { version: '1.2.0' } },
      args: { canary: '1.2.0', budget: '200' },
    };
    expect(run('result.p99 > number(args.budget)', scope)).toBe(true);
    expect(run('len(result.series) == 2 && result.series[1] >= 0.95 && result.series[-1] == result.series[1]', scope)).toBe(true);
    expect(run("result['p99'] == 230 && result.labels.version == args.canary", scope)).toBe(true);
    expect(run("args.canary in ['1.2.0', '1.3.0'] && '2' in args.canary && 'p99' in result", scope)).toBe(true);
    expect(run('max(result.series) == 0.97 && min(0.5, 0.7) == 0.5 && max([3, 9]) == 9 && abs(-1) == 1', scope)).toBe(true);
    expect(run('len(args)', scope)).toBe(2);
  });

  it('short-circuits && and ||', () => {
    expect(run('false && result.missing', { result: {} })).toBe(false);
    expect(run('true || result.missing', { result: {} })).toBe(true);
  });

  it('reports syntax errors with their column', () => {
    expect(parseError('result = 1')).toMatchObject({ column: 8, message: "'=' is not an operator; compare with '==' at column 8" });
    expect(parseError('result <')).toMatchObject({ column: 9, message: expect.stringContaining('unexpected end of expression') });
    expect(parseError('(result < 1')).toMatchObject({ column: 12, message: expect.stringContaining("expected ')'") });
    expect(parseError("result == 'x")).toMatchObject({ column: 11, message: expect.stringContaining('unterminated string') });
    expect(parseError('result & 1')).toMatchObject({ column: 8 });
    expect(parseError('result < 1 1')).toMatchObject({ column: 12 });
    expect(parseError('result.')).toMatchObject({ column: 8 });
    expect(parseError('')).toMatchObject({ column: 1, message: expect.stringContaining('empty') });
    expect(parseError('12abc')).toMatchObject({ column: 1 });
    expect(parseError('#')).toMatchObject({ column: 1 });
    expect(parseError(`${'('.repeat(100)}1${')'.repeat(100)}`).message).toContain('nested deeper');
    expect(parseError('x'.repeat(3000)).message).toContain('longer than');
  });

  it('checks names, functions and arguments statically, with columns', () => {
    const issues = (text: string, args?: string[]) => checkExpression(parseExpression(text), args ? new Set(args) : undefined);
    expect(issues('reslt < 1')).toEqual([{ message: "unknown name 'reslt'; conditions read 'result' and 'args'", column: 1 }]);
    expect(issues('avg(result) < 1')[0]).toMatchObject({ column: 1, message: expect.stringContaining("unknown function 'avg'") });
    expect(issues('result < number(args.limit)', ['canary', 'stable'])).toEqual([
      { message: "no argument 'limit'; known: canary, stable", column: 22 },
    ]);
    expect(issues('result < number(args.limit)', ['limit'])).toEqual([]);
    expect(() => compileCondition('reslt < 1')).toThrow(ParseError);
  });

  it('refuses type mismatches at evaluation with their column', () => {
    expect(evaluationError('result < 0.01', { result: null })).toMatchObject({ column: 8 });
    expect(evaluationError('result.x', { result: 3 }).message).toContain("cannot read field 'x' of a number");
    expect(evaluationError('result[3]', { result: [1] }).message).toContain('out of range');
    expect(evaluationError('1 && true', {}).message).toContain('needs true or false');
    expect(evaluationError("1 + 'a'", {}).message).toContain('needs a number');
    expect(evaluationError("number('abc')", {}).message).toContain('cannot read "abc" as a number');
    expect(() => compileCondition('result + 1').test({ result: 1 })).toThrow(/not true or false/);
    expect(compileCondition('result < 1').test({ result: 0.5 })).toBe(true);
  });
});

/** Arithmetic trees rendered as text with random (possibly missing) parentheses. */
type Arith = { n: number } | { neg: Arith; paren: boolean } | { op: '+' | '-' | '*' | '/' | '%'; l: Arith; r: Arith; paren: boolean };

const arith: fc.Arbitrary<Arith> = fc.letrec<{ node: Arith }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 1e6, noNaN: true })).map((n) => ({ n })),
    fc.record({ neg: tie('node'), paren: fc.boolean() }),
    fc.record({ op: fc.constantFrom('+', '-', '*', '/', '%'), l: tie('node'), r: tie('node'), paren: fc.boolean() }),
  ),
})).node;

function render(a: Arith): string {
  if ('n' in a) return String(a.n);
  if ('neg' in a) {
    const text = `- ${render(a.neg)}`;
    return a.paren ? `(${text})` : text;
  }
  const text = `${render(a.l)} ${a.op} ${render(a.r)}`;
  return a.paren ? `(${text})` : text;
}

describe('expression properties', () => {
  it('evaluates generated arithmetic exactly as JavaScript parses and computes it', () => {
    fc.assert(
      fc.property(arith, (tree) => {
        const text = render(tree);
        // The oracle only: production code never evaluates strings.
        const expected = new Function(`return (${text});`)() as number;
        const actual = run(text);
        return Object.is(actual, expected) || (Number.isNaN(actual) && Number.isNaN(expected));
      }),
      { numRuns: 2000 },
    );
  });

  const tokenish = fc
    .array(
      fc.constantFrom(
        'result',
        'args',
        '.',
        'x',
        '[',
        ']',
        '(',
        ')',
        '1',
        '2.5',
        "'s'",
        '"t"',
        '&&',
        '||',
        '!',
        'not',
        'in',
        '==',
        '<',
        '+',
        '-',
        '*',
        '/',
        ',',
        'len',
        'true',
        'null',
        ' ',
        '=',
        '&',
        '\\',
        "'",
      ),
      { maxLength: 30 },
    )
    .map((parts) => parts.join(''));

  it('parsing never throws anything but ParseError, and evaluation nothing but EvaluationError', () => {
    const scope: Record<string, Value> = { result: { x: [1, 'a', null, { y: true }] }, args: { canary: '1.0.0' } };
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }), tokenish), (text) => {
        let expr: ReturnType<typeof parseExpression>;
        try {
          expr = parseExpression(text);
        } catch (err) {
          return err instanceof ParseError && err.column >= 1 && err.column <= text.length + 1;
        }
        try {
          evaluate(expr, scope);
        } catch (err) {
          return err instanceof EvaluationError;
        }
        return true;
      }),
      { numRuns: 5000 },
    );
  });
});
