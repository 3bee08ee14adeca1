import type { Aggregate, AggregateOp, Binary, Call, Expr, ValueType } from './ast.js';
import { isComparison, isSetOp } from './ast.js';
import { FUNCTIONS } from './function-defs.js';

/** Thrown by the checks below; the parser attaches the position of the offending node. */
export class TypeCheckError extends Error {}

export function typeOf(expr: Expr): ValueType {
  switch (expr.type) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vectorSelector':
      return 'instant vector';
    case 'matrixSelector':
      return 'range vector';
    case 'call':
      return FUNCTIONS[expr.func]!.returns;
    case 'aggregate':
      return 'instant vector';
    case 'binary':
      return typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'instant vector';
    case 'unary':
    case 'paren':
      return typeOf(expr.expr);
  }
}

export const AGGREGATE_OPS: ReadonlySet<string> = new Set<AggregateOp>([
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
]);

export function aggregateTakesParam(op: AggregateOp): boolean {
  return op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
}

export function checkCall(call: Call): void {
  const def = FUNCTIONS[call.func]!;
  const n = call.args.length;
  const min = def.minArgs ?? def.args.length;
  const max = def.maxArgs ?? def.args.length;
  if (min === max && n !== min) throw new TypeCheckError(`expected ${min} argument(s) in call to "${call.func}", got ${n}`);
  if (n < min) throw new TypeCheckError(`expected at least ${min} argument(s) in call to "${call.func}", got ${n}`);
  if (n > max) throw new TypeCheckError(`expected at most ${max} argument(s) in call to "${call.func}", got ${n}`);
  call.args.forEach((arg, i) => {
    const want = def.args[Math.min(i, def.args.length - 1)]!;
    const got = typeOf(arg);
    if (got !== want) throw new TypeCheckError(`expected type ${want} in call to function "${call.func}", got ${got}`);
  });
}

export function checkAggregate(agg: Aggregate): void {
  const t = typeOf(agg.expr);
  if (t !== 'instant vector') throw new TypeCheckError(`expected type instant vector in aggregation expression, got ${t}`);
  if (agg.param) {
    const want = agg.op === 'count_values' ? 'string' : 'scalar';
    const got = typeOf(agg.param);
    if (got !== want) throw new TypeCheckError(`expected type ${want} in aggregation parameter, got ${got}`);
  }
}

export function checkBinary(bin: Binary, hasMatchingClause: boolean): void {
  const lt = typeOf(bin.lhs);
  const rt = typeOf(bin.rhs);
  const okType = (t: ValueType) => t === 'scalar' || t === 'instant vector';
  if (!okType(lt) || !okType(rt)) throw new TypeCheckError('binary expression must contain only scalar and instant vector types');
  const bothScalar = lt === 'scalar' && rt === 'scalar';
  if (bin.bool && !isComparison(bin.op)) throw new TypeCheckError('bool modifier can only be used on comparison operators');
  if (isComparison(bin.op) && bothScalar && !bin.bool) throw new TypeCheckError('comparisons between scalars must use BOOL modifier');
  if (isSetOp(bin.op) && (lt === 'scalar' || rt === 'scalar')) {
    throw new TypeCheckError(`set operator "${bin.op}" not allowed in binary scalar expression`);
  }
  if (hasMatchingClause && (lt !== 'instant vector' || rt !== 'instant vector')) {
    throw new TypeCheckError('vector matching only allowed between instant vectors');
  }
  const m = bin.matching;
  if (!m) return;
  if (isSetOp(bin.op) && (m.card === 'many-to-one' || m.card === 'one-to-many')) {
    throw new TypeCheckError(`no grouping allowed for "${bin.op}" operation`);
  }
  if (m.on) {
    for (const l of m.include) {
      if (m.labels.includes(l)) throw new TypeCheckError(`label "${l}" must not occur in ON and GROUP clause at once`);
    }
  }
}
