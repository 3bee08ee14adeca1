import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import type { LabelMatcher, MatchOp } from '../contracts.js';
import type { AggregateOp, AtModifier, BinaryOp, Expr, MatrixSelector, VectorMatching, VectorSelector } from './ast.js';
import { isSetOp } from './ast.js';
import { AGGREGATE_OPS, aggregateTakesParam, checkAggregate, checkBinary, checkCall, TypeCheckError, typeOf } from './check.js';
import { PromqlSyntaxError, UnsupportedPromqlError } from './errors.js';
import { FUNCTIONS } from './function-defs.js';
import { compileAnchoredRegex, METRIC_NAME } from './labels.js';
import { parseDurationMs, parseNumberLiteral, unquoteString } from './literals.js';

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

const MATCH_OPS: Record<string, MatchOp> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** Node names of grammar features outside the subset, and how to name them to the user. */
const UNSUPPORTED_NODES: Record<string, string> = {
  SubqueryExpr: 'subquery',
  AnchoredExpr: 'the "anchored" modifier',
  SmoothedExpr: 'the "smoothed" modifier',
  FillModifier: 'the "fill" modifier',
  Atan2: 'operator "atan2"',
  TrimUpper: 'operator "</"',
  TrimLower: 'operator ">/"',
};

/**
 * Parses PromQL with the official Lezer grammar and converts the tree into our AST, checking
 * types the way Prometheus' parser does. Throws PromqlSyntaxError or UnsupportedPromqlError.
 */
export function parsePromql(text: string): Expr {
  return new Converter(text).run();
}

class Converter {
  /** Selectors that already carry `offset` / `@`, to reject repeats like Prometheus does. */
  private readonly withOffset = new WeakSet<VectorSelector>();
  private readonly withAt = new WeakSet<VectorSelector>();

  constructor(private readonly text: string) {}

  run(): Expr {
    const tree = parser.parse(this.text);
    this.reportFirstError(tree.topNode);
    const body = children(tree.topNode);
    if (body.length === 0) throw new PromqlSyntaxError('no expression found in input', 0, this.text);
    return this.expr(body[0]!);
  }

  private fail(node: SyntaxNode | number, message: string): never {
    throw new PromqlSyntaxError(message, typeof node === 'number' ? node : node.from, this.text);
  }

  private src(node: SyntaxNode): string {
    return this.text.slice(node.from, node.to);
  }

  private reportFirstError(top: SyntaxNode): void {
    let err: SyntaxNode | undefined;
    top.cursor().iterate((n) => {
      if (err) return false;
      if (n.type.isError) {
        err = n.node;
        return false;
      }
      return undefined;
    });
    if (!err) return;
    // `foo(` where foo is no known function: lezer reads foo as a metric name and fails at "(".
    const prev = err.prevSibling;
    if (this.text[err.from] === '(' && prev?.name === 'Identifier') {
      this.fail(prev, `unknown function with name "${this.src(prev)}"`);
    }
    if (err.from >= this.text.trimEnd().length) this.fail(err.from, 'unexpected end of input');
    const snippet = this.text.slice(err.from, Math.max(err.to, err.from + 1)).slice(0, 20);
    this.fail(err, `unexpected ${JSON.stringify(snippet)}`);
  }

  private expr(node: SyntaxNode): Expr {
    const unsupported = UNSUPPORTED_NODES[node.name];
    if (unsupported) throw new UnsupportedPromqlError(unsupported, node.from);
    switch (node.name) {
      case 'ParenExpr':
        return { type: 'paren', expr: this.expr(children(node)[0]!) };
      case 'NumberDurationLiteral': {
        const value = parseNumberLiteral(this.src(node));
        if (value === undefined) this.fail(node, `invalid number ${JSON.stringify(this.src(node))}`);
        return { type: 'number', value };
      }
      case 'StringLiteral':
        return { type: 'string', value: this.string(node) };
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'MatrixSelector':
        return this.matrixSelector(node);
      case 'OffsetExpr':
        return this.offset(node);
      case 'StepInvariantExpr':
        return this.at(node);
      case 'FunctionCall':
        return this.call(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'BinaryExpr':
        return this.binary(node);
      case 'UnaryExpr':
        return this.unary(node);
      default:
        this.fail(node, `unexpected ${node.name}`);
    }
  }

  private string(node: SyntaxNode): string {
    try {
      return unquoteString(this.src(node));
    } catch (e) {
      this.fail(node, (e as Error).message);
    }
  }

  private vectorSelector(node: SyntaxNode): VectorSelector {
    let name: string | undefined;
    const matchers: LabelMatcher[] = [];
    for (const c of children(node)) {
      if (c.name === 'Identifier') name = this.src(c);
      if (c.name !== 'LabelMatchers') continue;
      for (const m of children(c)) {
        if (m.name === 'QuotedLabelName') {
          const quoted = this.string(children(m)[0]!);
          if (name !== undefined) this.fail(m, `metric name must not be set twice: "${name}" or "${quoted}"`);
          name = quoted;
          continue;
        }
        const [labelNode, opNode, valueNode] = children(m);
        const label = labelNode!.name === 'QuotedLabelName' ? this.string(children(labelNode!)[0]!) : this.src(labelNode!);
        const op = MATCH_OPS[children(opNode!)[0]?.name ?? ''];
        if (!op) this.fail(opNode!, `unexpected matcher ${this.src(opNode!)}`);
        const value = this.string(valueNode!);
        if (op === '=~' || op === '!~') {
          try {
            compileAnchoredRegex(value);
          } catch (e) {
            this.fail(valueNode!, `error parsing regexp: ${(e as Error).message}`);
          }
        }
        matchers.push({ name: label, op, value });
      }
    }
    if (name !== undefined) {
      const dup = matchers.find((m) => m.name === METRIC_NAME);
      if (dup) this.fail(node, `metric name must not be set twice: "${name}" or "${dup.value}"`);
      matchers.unshift({ name: METRIC_NAME, op: '=', value: name });
    }
    const matchesEmpty = (m: LabelMatcher): boolean => {
      if (m.op === '=') return m.value === '';
      if (m.op === '!=') return m.value !== '';
      const hit = compileAnchoredRegex(m.value).test('');
      return m.op === '=~' ? hit : !hit;
    };
    if (matchers.every(matchesEmpty)) this.fail(node, 'vector selector must contain at least one non-empty matcher');
    return { type: 'vectorSelector', ...(name !== undefined ? { name } : {}), matchers, offsetMs: 0 };
  }

  private matrixSelector(node: SyntaxNode): Expr {
    const [inner, dur] = children(node);
    const rangeMs = this.duration(dur!);
    if (rangeMs <= 0) this.fail(dur!, `range must be greater than 0, got ${this.src(dur!)}`);
    return this.postfix(node, this.expr(inner!), (selector): MatrixSelector => {
      if (selector.type !== 'vectorSelector') this.fail(inner!, 'ranges only allowed for vector selectors');
      if (this.withOffset.has(selector) || this.withAt.has(selector)) this.fail(dur!, 'no offset or @ modifiers allowed before range');
      return { type: 'matrixSelector', selector, rangeMs };
    });
  }

  /**
   * The Lezer grammar (written for editors) lets `[range]`, `offset` and `@` wrap a whole binary
   * or unary expression (`a + b offset 5m`), while Prometheus binds them to the operand right
   * before them. Apply the modifier to the rightmost operand and re-check the rebuilt operators.
   */
  private postfix(node: SyntaxNode, expr: Expr, apply: (leaf: Expr) => Expr): Expr {
    if (expr.type === 'binary') {
      expr.rhs = this.postfix(node, expr.rhs, apply);
      this.checked(node, () => checkBinary(expr, false));
      return expr;
    }
    if (expr.type === 'unary') {
      expr.expr = this.postfix(node, expr.expr, apply);
      const t = typeOf(expr.expr);
      if (t !== 'scalar' && t !== 'instant vector') {
        this.fail(node, `unary expression only allowed on expressions of type scalar or instant vector, got "${t}"`);
      }
      return expr;
    }
    return apply(expr);
  }

  /** A literal duration; Prometheus 3 duration arithmetic (`[5m+1m]`, `step()`) is outside the subset. */
  private duration(node: SyntaxNode): number {
    const parts = children(node);
    if (node.name === 'OffsetDurationExpr' && parts[0]?.name === 'UnaryOp') {
      const sign = this.src(parts[0]) === '-' ? -1 : 1;
      return sign * this.duration(parts[1]!);
    }
    if (parts.length !== 1 || parts[0]!.name !== 'NumberDurationLiteralInDurationContext') {
      throw new UnsupportedPromqlError('duration expression', node.from);
    }
    const text = this.src(parts[0]!);
    const ms = parseDurationMs(text) ?? (/^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 1000) : undefined);
    if (ms === undefined) this.fail(node, `bad duration ${JSON.stringify(text)}`);
    return ms;
  }

  private modifierTarget(node: SyntaxNode, expr: Expr, what: string): VectorSelector {
    if (expr.type === 'vectorSelector') return expr;
    if (expr.type === 'matrixSelector') return expr.selector;
    this.fail(node, `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`);
  }

  private offset(node: SyntaxNode): Expr {
    const parts = children(node);
    const offsetMs = this.duration(parts.find((p) => p.name === 'OffsetDurationExpr')!);
    return this.postfix(node, this.expr(parts[0]!), (expr) => {
      const sel = this.modifierTarget(node, expr, 'offset');
      if (this.withOffset.has(sel)) this.fail(node, 'offset may not be set multiple times');
      this.withOffset.add(sel);
      sel.offsetMs = offsetMs;
      return expr;
    });
  }

  private at(node: SyntaxNode): Expr {
    const parts = children(node);
    const arg = parts[parts.length - 1]!;
    let at: AtModifier;
    if (arg.name === 'AtModifierPreprocessors') {
      at = { kind: children(arg)[0]?.name === 'AtStart' ? 'start' : 'end' };
    } else {
      const secs = parseNumberLiteral(this.src(arg));
      if (secs === undefined || !Number.isFinite(secs)) this.fail(arg, 'timestamp out of bounds for @ modifier');
      at = { kind: 'time', ms: Math.round(secs * 1000) };
    }
    return this.postfix(node, this.expr(parts[0]!), (expr) => {
      const sel = this.modifierTarget(node, expr, '@');
      if (this.withAt.has(sel)) this.fail(node, '@ <timestamp> may not be set multiple times');
      this.withAt.add(sel);
      sel.at = at;
      return expr;
    });
  }

  private call(node: SyntaxNode): Expr {
    const [ident, body] = children(node);
    const func = this.src(ident!);
    if (!FUNCTIONS[func]) throw new UnsupportedPromqlError(`function "${func}"`, node.from);
    const call = { type: 'call' as const, func, args: children(body!).map((a) => this.expr(a)) };
    this.checked(node, () => checkCall(call));
    return call;
  }

  private aggregate(node: SyntaxNode): Expr {
    const parts = children(node);
    const opText = this.src(parts[0]!).toLowerCase();
    if (!AGGREGATE_OPS.has(opText)) throw new UnsupportedPromqlError(`aggregation "${opText}"`, node.from);
    const op = opText as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    const modifier = parts.find((p) => p.name === 'AggregateModifier');
    if (modifier) {
      const [kind, labels] = children(modifier);
      without = kind!.name === 'Without';
      grouping = labels ? this.labelList(labels) : [];
    }
    const args = children(parts.find((p) => p.name === 'FunctionCallBody')!).map((a) => this.expr(a));
    const want = aggregateTakesParam(op) ? 2 : 1;
    if (args.length !== want) {
      this.fail(node, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`);
    }
    const agg = { type: 'aggregate' as const, op, expr: args[want - 1]!, grouping, without, ...(want === 2 ? { param: args[0]! } : {}) };
    this.checked(node, () => checkAggregate(agg));
    return agg;
  }

  private labelList(node: SyntaxNode): string[] {
    return children(node).map((l) => (l.name === 'QuotedLabelName' ? this.string(children(l)[0]!) : this.src(l)));
  }

  private binary(node: SyntaxNode): Expr {
    const parts = children(node);
    const opNode = parts[1]!;
    const unsupported = UNSUPPORTED_NODES[opNode.name];
    if (unsupported) throw new UnsupportedPromqlError(unsupported, opNode.from);
    const fill = parts.find((p) => p.name === 'FillModifier');
    if (fill) throw new UnsupportedPromqlError(UNSUPPORTED_NODES.FillModifier!, fill.from);
    const op = BINARY_OPS[opNode.name];
    if (!op) this.fail(opNode, `unexpected operator ${this.src(opNode)}`);
    const lhsNode = parts[0]!;
    const rhsNode = parts[parts.length - 1]!;
    // The grammar reads "-2" as one literal, but in PromQL unary minus binds looser than "^": -2^2 is -(2^2).
    const lhsText = this.src(lhsNode);
    if (op === '^' && lhsNode.name === 'NumberDurationLiteral' && /^[-+]/.test(lhsText)) {
      const value = parseNumberLiteral(lhsText.slice(1))!;
      const inner = this.finishBinary(node, op, { type: 'number', value }, this.expr(rhsNode), parts);
      return this.foldUnary(lhsText[0] === '-' ? '-' : '+', inner);
    }
    return this.finishBinary(node, op, this.expr(lhsNode), this.expr(rhsNode), parts);
  }

  private finishBinary(node: SyntaxNode, op: BinaryOp, lhs: Expr, rhs: Expr, parts: SyntaxNode[]): Expr {
    const bool = parts.some((p) => p.name === 'BoolModifier');
    const clause = parts.find((p) => p.name === 'MatchingModifierClause');
    const bin = { type: 'binary' as const, op, lhs, rhs, bool } as Expr & { type: 'binary' };
    if (typeOf(lhs) === 'instant vector' && typeOf(rhs) === 'instant vector') {
      bin.matching = this.matching(op, clause);
    }
    this.checked(clause ?? node, () => checkBinary(bin, clause !== undefined));
    return bin;
  }

  private matching(op: BinaryOp, clause: SyntaxNode | undefined): VectorMatching {
    const m: VectorMatching = { card: isSetOp(op) ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
    if (!clause) return m;
    const parts = children(clause);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const next = parts[i + 1];
      const labels = next?.name === 'GroupingLabels' ? this.labelList(next) : undefined;
      if (p.name === 'On' || p.name === 'Ignoring') {
        m.on = p.name === 'On';
        m.labels = labels ?? [];
      } else if (p.name === 'GroupLeft' || p.name === 'GroupRight') {
        m.card = p.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
        m.include = labels ?? [];
      }
    }
    return m;
  }

  private unary(node: SyntaxNode): Expr {
    const [opNode, inner] = children(node);
    const expr = this.expr(inner!);
    const t = typeOf(expr);
    if (t !== 'scalar' && t !== 'instant vector') {
      this.fail(node, `unary expression only allowed on expressions of type scalar or instant vector, got "${t}"`);
    }
    return this.foldUnary(this.src(opNode!) === '-' ? '-' : '+', expr);
  }

  /** Prometheus folds a sign into a number literal; anything else stays a unary node. */
  private foldUnary(op: '-' | '+', expr: Expr): Expr {
    if (expr.type === 'number') return op === '-' ? { type: 'number', value: -expr.value } : expr;
    return { type: 'unary', op, expr };
  }

  private checked(node: SyntaxNode, check: () => void): void {
    try {
      check();
    } catch (e) {
      if (e instanceof TypeCheckError) this.fail(node, e.message);
      throw e;
    }
  }
}

/** Child nodes that carry meaning (comments dropped). */
function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
  return out;
}
