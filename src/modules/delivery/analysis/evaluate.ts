import { type BinaryOp, type Expr, ParseError, parseExpression } from './expression.js';

/** What expressions compute with: JSON values. */
export type Value = number | string | boolean | null | Value[] | { [key: string]: Value };

/** A condition that parsed but cannot be computed on this input (a type mismatch, a missing field). */
export class EvaluationError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
    this.name = 'EvaluationError';
  }
}

/** The names an expression may start from. */
export const ROOTS = ['result', 'args'] as const;

type Fn = (args: Value[], column: number) => Value;

const FUNCTIONS: Record<string, Fn> = {
  len(args, column) {
    const [x] = arity('len', args, 1, column);
    if (typeof x === 'string' || Array.isArray(x)) return x.length;
    if (isObject(x)) return Object.keys(x).length;
    throw new EvaluationError(`len() takes a list, a string or an object, not ${typeName(x)}`, column);
  },
  abs(args, column) {
    const [x] = arity('abs', args, 1, column);
    return Math.abs(num('abs()', x, column));
  },
  min(args, column) {
    if (args.length === 0) throw new EvaluationError('min() needs at least one number', column);
    return Math.min(...spread(args).map((x) => num('min()', x, column)));
  },
  max(args, column) {
    if (args.length === 0) throw new EvaluationError('max() needs at least one number', column);
    return Math.max(...spread(args).map((x) => num('max()', x, column)));
  },
  number(args, column) {
    const [x] = arity('number', args, 1, column);
    if (typeof x === 'number') return x;
    if (typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x))) return Number(x);
    throw new EvaluationError(`number() cannot read ${show(x)} as a number`, column);
  },
};

export const FUNCTION_NAMES = Object.keys(FUNCTIONS);

function arity(name: string, args: Value[], n: number, column: number): Value[] {
  if (args.length !== n) throw new EvaluationError(`${name}() takes ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`, column);
  return args;
}

/** min([1, 2]) and min(1, 2) alike. */
function spread(args: Value[]): Value[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
}

function isObject(v: Value): v is { [key: string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: Value): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function show(v: Value): string {
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function num(what: string, v: Value, column: number): number {
  if (typeof v !== 'number') throw new EvaluationError(`${what} needs a number, got ${typeName(v)} ${show(v)}`, column);
  return v;
}

function bool(what: string, v: Value, column: number): boolean {
  if (typeof v !== 'boolean') throw new EvaluationError(`${what} needs true or false, got ${typeName(v)} ${show(v)}`, column);
  return v;
}

function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(a[k]!, b[k]!));
  }
  return false;
}

/** Evaluates a parsed expression against named values (`result`, `args`). */
export function evaluate(expr: Expr, scope: Record<string, Value>): Value {
  switch (expr.type) {
    case 'literal':
      return expr.value;
    case 'ident':
      if (!Object.hasOwn(scope, expr.name)) throw new EvaluationError(`unknown name '${expr.name}'`, expr.column);
      return scope[expr.name]!;
    case 'array':
      return expr.items.map((item) => evaluate(item, scope));
    case 'unary': {
      const v = evaluate(expr.operand, scope);
      return expr.op === '!' ? !bool("'!'", v, expr.column) : -num("'-'", v, expr.column);
    }
    case 'logical': {
      const left = bool(`'${expr.op}'`, evaluate(expr.left, scope), expr.column);
      if (expr.op === '&&' ? !left : left) return left;
      return bool(`'${expr.op}'`, evaluate(expr.right, scope), expr.column);
    }
    case 'binary':
      return binary(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope), expr.column);
    case 'member': {
      const object = evaluate(expr.object, scope);
      if (!isObject(object)) throw new EvaluationError(`cannot read field '${expr.property}' of ${typeName(object)}`, expr.column);
      if (!Object.hasOwn(object, expr.property)) throw new EvaluationError(`no field '${expr.property}'`, expr.column);
      return object[expr.property]!;
    }
    case 'index': {
      const object = evaluate(expr.object, scope);
      const index = evaluate(expr.index, scope);
      if (Array.isArray(object) || typeof object === 'string') {
        if (typeof index !== 'number' || !Number.isInteger(index))
          throw new EvaluationError(`a list index must be an integer, got ${show(index)}`, expr.column);
        const i = index < 0 ? object.length + index : index;
        if (i < 0 || i >= object.length) throw new EvaluationError(`index ${index} is out of range (length ${object.length})`, expr.column);
        return object[i]!;
      }
      if (isObject(object) && typeof index === 'string') {
        if (!Object.hasOwn(object, index)) throw new EvaluationError(`no field '${index}'`, expr.column);
        return object[index]!;
      }
      throw new EvaluationError(`cannot index ${typeName(object)} with ${typeName(index)}`, expr.column);
    }
    case 'call': {
      const fn = Object.hasOwn(FUNCTIONS, expr.callee) ? FUNCTIONS[expr.callee] : undefined;
      if (!fn) throw new EvaluationError(`unknown function '${expr.callee}'`, expr.column);
      return fn(
        expr.args.map((a) => evaluate(a, scope)),
        expr.column,
      );
    }
  }
}

function binary(op: BinaryOp, a: Value, b: Value, column: number): Value {
  switch (op) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case '+':
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      return num("'+'", a, column) + num("'+'", b, column);
    case '-':
      return num("'-'", a, column) - num("'-'", b, column);
    case '*':
      return num("'*'", a, column) * num("'*'", b, column);
    case '/':
      return num("'/'", a, column) / num("'/'", b, column);
    case '%':
      return num("'%'", a, column) % num("'%'", b, column);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) {
        throw new EvaluationError(`'${op}' compares two numbers or two strings, not ${typeName(a)} and ${typeName(b)}`, column);
      }
      if (op === '<') return a < b;
      if (op === '<=') return a <= b;
      if (op === '>') return a > b;
      return a >= b;
    }
    case 'in':
      if (Array.isArray(b)) return b.some((x) => equal(a, x));
      if (typeof b === 'string' && typeof a === 'string') return b.includes(a);
      if (isObject(b) && typeof a === 'string') return Object.hasOwn(b, a);
      throw new EvaluationError(`'in' looks in a list, a string or an object, not ${typeName(b)}`, column);
  }
}

/** Problems found without evaluating: unknown names and functions, `args.x` not among `argNames`. */
export interface StaticIssue {
  message: string;
  column: number;
}

/** Checks names, functions and argument references; `argNames` undefined skips the argument check. */
export function checkExpression(expr: Expr, argNames?: ReadonlySet<string>): StaticIssue[] {
  const issues: StaticIssue[] = [];
  const visit = (e: Expr): void => {
    switch (e.type) {
      case 'ident':
        if (!(ROOTS as readonly string[]).includes(e.name)) {
          issues.push({ message: `unknown name '${e.name}'; conditions read 'result' and 'args'`, column: e.column });
        }
        return;
      case 'member':
        if (argNames && e.object.type === 'ident' && e.object.name === 'args' && !argNames.has(e.property)) {
          issues.push({ message: `no argument '${e.property}'; known: ${[...argNames].sort().join(', ')}`, column: e.propertyColumn });
        }
        visit(e.object);
        return;
      case 'call':
        if (!Object.hasOwn(FUNCTIONS, e.callee)) {
          issues.push({ message: `unknown function '${e.callee}'; known: ${FUNCTION_NAMES.join(', ')}`, column: e.column });
        }
        e.args.forEach(visit);
        return;
      case 'array':
        e.items.forEach(visit);
        return;
      case 'unary':
        visit(e.operand);
        return;
      case 'binary':
      case 'logical':
        visit(e.left);
        visit(e.right);
        return;
      case 'index':
        visit(e.object);
        visit(e.index);
        return;
      case 'literal':
        return;
    }
  };
  visit(expr);
  return issues;
}

/** A condition ready to run: parsed once; `test` answers true/false or throws EvaluationError. */
export interface Condition {
  source: string;
  test(scope: Record<string, Value>): boolean;
}

/** Parses and checks a condition; throws ParseError for syntax and name problems. */
export function compileCondition(source: string, argNames?: ReadonlySet<string>): Condition {
  const expr = parseExpression(source);
  const [issue] = checkExpression(expr, argNames);
  if (issue) throw new ParseError(issue.message, issue.column);
  return {
    source,
    test(scope) {
      const value = evaluate(expr, scope);
      if (typeof value !== 'boolean')
        throw new EvaluationError(`the condition gave ${typeName(value)} ${show(value)}, not true or false`, 1);
      return value;
    },
  };
}
