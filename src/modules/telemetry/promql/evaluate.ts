import type { QueryData, RawSeries, SeriesSource } from '../contracts.js';
import { evalAggregate } from './aggregate.js';
import type { AtModifier, Expr, MatrixSelector, VectorSelector } from './ast.js';
import { scalarScalar, setOperation, vectorScalar, vectorVector } from './binary.js';
import { typeOf } from './check.js';
import { PromqlRuntimeError } from './errors.js';
import { evalInstantFunction } from './functions.js';
import { dropMetricName } from './labels.js';
import { toQueryData } from './output.js';
import { evalRangeFunction, RANGE_FUNCTIONS } from './range-functions.js';
import { rangeSlice, selectInstant } from './selectors.js';
import { fillScalar, mapVector, type Series, type Value } from './values.js';

/** Prometheus' default lookback delta. */
export const DEFAULT_LOOKBACK_MS = 5 * 60_000;
/** Prometheus refuses range queries with more points per series than this. */
const MAX_POINTS = 11_000;

export interface InstantQuery {
  source: SeriesSource;
  expr: Expr;
  /** Evaluation time, epoch ms. */
  time: number;
  lookbackMs?: number;
}

export interface RangeQuery {
  source: SeriesSource;
  expr: Expr;
  start: number;
  end: number;
  /** Resolution in ms. */
  step: number;
  lookbackMs?: number;
}

interface Ctx {
  times: number[];
  /** Query start/end, for `@ start()` / `@ end()`. */
  start: number;
  end: number;
  lookbackMs: number;
  data: Map<VectorSelector, RawSeries[]>;
}

export async function evaluateInstant(q: InstantQuery): Promise<QueryData> {
  const ctx = await prepare(q.source, q.expr, [q.time], q.time, q.time, q.lookbackMs ?? DEFAULT_LOOKBACK_MS);
  const value = q.expr.type === 'matrixSelector' ? rangeSelectorValue(q.expr, ctx) : evaluate(q.expr, ctx);
  return toQueryData(value, ctx.times, false);
}

export async function evaluateRange(q: RangeQuery): Promise<QueryData> {
  if (!(q.step > 0)) throw new PromqlRuntimeError('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if (q.end < q.start) throw new PromqlRuntimeError('end timestamp must not be before start time');
  if ((q.end - q.start) / q.step > MAX_POINTS) {
    throw new PromqlRuntimeError(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  }
  const t = typeOf(q.expr);
  if (t !== 'scalar' && t !== 'instant vector') {
    throw new PromqlRuntimeError(`invalid expression type "${t}" for range query, must be Scalar or instant Vector`);
  }
  const times: number[] = [];
  for (let ts = q.start; ts <= q.end; ts += q.step) times.push(ts);
  const ctx = await prepare(q.source, q.expr, times, q.start, q.end, q.lookbackMs ?? DEFAULT_LOOKBACK_MS);
  return toQueryData(evaluate(q.expr, ctx), times, true);
}

/** Every vector selector in the expression, in source order. */
export function selectorsOf(expr: Expr): VectorSelector[] {
  const out: VectorSelector[] = [];
  const walk = (e: Expr): void => {
    switch (e.type) {
      case 'vectorSelector':
        out.push(e);
        return;
      case 'matrixSelector':
        out.push(e.selector);
        return;
      case 'call':
        e.args.forEach(walk);
        return;
      case 'aggregate':
        if (e.param) walk(e.param);
        walk(e.expr);
        return;
      case 'binary':
        walk(e.lhs);
        walk(e.rhs);
        return;
      case 'unary':
      case 'paren':
        walk(e.expr);
        return;
      default:
        return;
    }
  };
  walk(expr);
  return out;
}

function atTime(at: AtModifier, start: number, end: number): number {
  return at.kind === 'time' ? at.ms : at.kind === 'start' ? start : end;
}

/**
 * Fetches each selector once for the whole query window: from the first step minus offset and
 * range (or lookback) to the last step minus offset. `@` pins a selector to one time.
 */
async function prepare(source: SeriesSource, expr: Expr, times: number[], start: number, end: number, lookbackMs: number): Promise<Ctx> {
  const data = new Map<VectorSelector, RawSeries[]>();
  const ranges = new Map<VectorSelector, number>();
  const visit = (e: Expr): void => {
    if (e.type === 'matrixSelector') ranges.set(e.selector, e.rangeMs);
    else if (e.type === 'call') e.args.forEach(visit);
    else if (e.type === 'aggregate') {
      if (e.param) visit(e.param);
      visit(e.expr);
    } else if (e.type === 'binary') [e.lhs, e.rhs].forEach(visit);
    else if (e.type === 'unary' || e.type === 'paren') visit(e.expr);
  };
  visit(expr);
  await Promise.all(
    selectorsOf(expr).map(async (sel) => {
      const first = sel.at ? atTime(sel.at, start, end) : times[0]!;
      const last = sel.at ? first : times[times.length - 1]!;
      const back = ranges.get(sel) ?? lookbackMs;
      data.set(sel, await source.select(sel.matchers, first - sel.offsetMs - back, last - sel.offsetMs));
    }),
  );
  return { times, start, end, lookbackMs, data };
}

/** Evaluates a step-invariant (`@`) subtree once at its pinned time and repeats it for every step. */
function pinned(at: AtModifier, ctx: Ctx, run: (c: Ctx) => Series[]): Series[] {
  const t = atTime(at, ctx.start, ctx.end);
  const once = run({ ...ctx, times: [t] });
  const n = ctx.times.length;
  return once.map((s) => ({
    labels: s.labels,
    values: fillScalar(n, s.values[0]!),
    present: new Uint8Array(n).fill(1),
    ...(s.sampleTs ? { sampleTs: fillScalar(n, s.sampleTs[0]!) } : {}),
  }));
}

function vectorSelector(sel: VectorSelector, ctx: Ctx): Series[] {
  const run = (c: Ctx) => selectInstant(c.data.get(sel) ?? [], c.times, sel.offsetMs, c.lookbackMs);
  return sel.at ? pinned(sel.at, ctx, run) : run(ctx);
}

function rangeSelectorValue(m: MatrixSelector, ctx: Ctx): Value {
  const sel = m.selector;
  const t = sel.at ? atTime(sel.at, ctx.start, ctx.end) : ctx.times[0]!;
  const series = (ctx.data.get(sel) ?? []).map((r) => rangeSlice(r, t, sel.offsetMs, m.rangeMs)).filter((r) => r.t.length > 0);
  return { kind: 'matrix', series };
}

function asVector(v: Value): Series[] {
  if (v.kind !== 'vector') throw new Error(`expected instant vector, got ${v.kind}`);
  return v.series;
}

function asScalar(v: Value): Float64Array {
  if (v.kind !== 'scalar') throw new Error(`expected scalar, got ${v.kind}`);
  return v.values;
}

function evaluate(expr: Expr, ctx: Ctx): Value {
  const n = ctx.times.length;
  switch (expr.type) {
    case 'number':
      return { kind: 'scalar', values: fillScalar(n, expr.value) };
    case 'string':
      return { kind: 'string', value: expr.value };
    case 'paren':
      return evaluate(expr.expr, ctx);
    case 'vectorSelector':
      return { kind: 'vector', series: vectorSelector(expr, ctx) };
    case 'matrixSelector':
      return rangeSelectorValue(expr, ctx);
    case 'unary': {
      const v = evaluate(expr.expr, ctx);
      if (expr.op === '+') return v;
      if (v.kind === 'scalar') return { kind: 'scalar', values: v.values.map((x) => -x) };
      return { kind: 'vector', series: mapVector(asVector(v), dropMetricName, (x) => -x) };
    }
    case 'call':
      return call(expr, ctx);
    case 'aggregate': {
      const param = expr.param ? evaluate(expr.param, ctx) : undefined;
      const series = asVector(evaluate(expr.expr, ctx));
      return {
        kind: 'vector',
        series: evalAggregate({
          agg: expr,
          series,
          n,
          ...(param?.kind === 'scalar' ? { param: param.values } : {}),
          ...(param?.kind === 'string' ? { label: param.value } : {}),
        }),
      };
    }
    case 'binary': {
      const l = evaluate(expr.lhs, ctx);
      const r = evaluate(expr.rhs, ctx);
      if (l.kind === 'scalar' && r.kind === 'scalar') return scalarScalar(expr, l.values, r.values);
      if (l.kind === 'scalar') return { kind: 'vector', series: vectorScalar(expr, asVector(r), l.values, true) };
      if (r.kind === 'scalar') return { kind: 'vector', series: vectorScalar(expr, asVector(l), r.values, false) };
      if (expr.op === 'and' || expr.op === 'or' || expr.op === 'unless') {
        return { kind: 'vector', series: setOperation(expr, asVector(l), asVector(r), n) };
      }
      return { kind: 'vector', series: vectorVector(expr, asVector(l), asVector(r), n) };
    }
  }
}

function call(expr: Expr & { type: 'call' }, ctx: Ctx): Value {
  if (RANGE_FUNCTIONS.has(expr.func)) {
    const m = expr.args[expr.args.length - 1] as MatrixSelector;
    const param = expr.args.length > 1 ? asScalar(evaluate(expr.args[0]!, ctx)) : undefined;
    const sel = m.selector;
    const run = (c: Ctx, p: Float64Array | undefined) =>
      evalRangeFunction({
        func: expr.func,
        raw: c.data.get(sel) ?? [],
        times: c.times,
        offsetMs: sel.offsetMs,
        rangeMs: m.rangeMs,
        ...(p ? { param: p } : {}),
      });
    if (sel.at) {
      // quantile_over_time's φ may vary by step; a pinned range only makes sense with the value at the pinned time.
      return { kind: 'vector', series: pinned(sel.at, ctx, (c) => run(c, param ? param.subarray(0, 1) : undefined)) };
    }
    return { kind: 'vector', series: run(ctx, param) };
  }
  const args = expr.args.map((a) => evaluate(a, ctx));
  return evalInstantFunction({ func: expr.func, args, argExprs: expr.args, times: ctx.times });
}
