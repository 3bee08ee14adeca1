import type { LabelMatcher } from '../contracts.js';

/** PromQL value types, named as Prometheus names them in error messages. */
export type ValueType = 'scalar' | 'instant vector' | 'range vector' | 'string';

export type AtModifier = { kind: 'time'; ms: number } | { kind: 'start' } | { kind: 'end' };

export interface NumberLiteral {
  type: 'number';
  value: number;
}

export interface StringLiteral {
  type: 'string';
  value: string;
}

export interface VectorSelector {
  type: 'vectorSelector';
  /** The metric name if given as `name{...}` (also present as a `__name__` matcher). */
  name?: string;
  matchers: LabelMatcher[];
  offsetMs: number;
  at?: AtModifier;
}

export interface MatrixSelector {
  type: 'matrixSelector';
  selector: VectorSelector;
  rangeMs: number;
}

export interface Call {
  type: 'call';
  func: string;
  args: Expr[];
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'group';

export interface Aggregate {
  type: 'aggregate';
  op: AggregateOp;
  expr: Expr;
  param?: Expr;
  grouping: string[];
  without: boolean;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  card: Cardinality;
  /** true for `on(...)`, false for `ignoring(...)` or no clause. */
  on: boolean;
  labels: string[];
  /** Extra labels copied from the "one" side with group_left/group_right. */
  include: string[];
}

export interface Binary {
  type: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  bool: boolean;
  /** Present when both sides are instant vectors. */
  matching?: VectorMatching;
}

export interface Unary {
  type: 'unary';
  op: '-' | '+';
  expr: Expr;
}

export interface Paren {
  type: 'paren';
  expr: Expr;
}

export type Expr = NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Call | Aggregate | Binary | Unary | Paren;

export function isComparison(op: BinaryOp): op is ComparisonOp {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

export function isSetOp(op: BinaryOp): op is SetOp {
  return op === 'and' || op === 'or' || op === 'unless';
}
