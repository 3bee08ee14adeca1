/**
 * The condition language of AnalysisTemplate metrics (`successCondition`, `failureCondition`):
 * a small, safe expression language over `result` and `args`. A hand-written tokenizer and a
 * Pratt parser build an AST that evaluate.ts walks; nothing is ever handed to eval/Function.
 *
 *   result < 0.01
 *   len(result) > 0 && result[0].value >= 0.95
 *   result.p99 - result.baseline <= number(args.budget) or not (args.mode in ['strict', 'paranoid'])
 */

export const MAX_EXPRESSION_LENGTH = 2000;
const MAX_DEPTH = 64;

/** A syntax error, located by 1-based column in the expression text. */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
    this.name = 'ParseError';
  }
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in';

export type Expr = { column: number } & (
  | { type: 'literal'; value: number | string | boolean | null }
  | { type: 'ident'; name: string }
  | { type: 'array'; items: Expr[] }
  | { type: 'unary'; op: '!' | '-'; operand: Expr }
  | { type: 'binary'; op: BinaryOp; left: Expr; right: Expr }
  | { type: 'logical'; op: '&&' | '||'; left: Expr; right: Expr }
  | { type: 'member'; object: Expr; property: string; propertyColumn: number }
  | { type: 'index'; object: Expr; index: Expr }
  | { type: 'call'; callee: string; args: Expr[] }
);

type TokenType = 'number' | 'string' | 'ident' | 'op' | 'eof';
interface Token {
  type: TokenType;
  /** Operators and identifiers as written (`and` normalised to `&&` etc.); numbers and strings as values. */
  text: string;
  value?: number | string;
  column: number;
}

const WORD_OPERATORS: Record<string, string> = { and: '&&', or: '||', not: '!', in: 'in' };
const TWO_CHAR = new Set(['&&', '||', '==', '!=', '<=', '>=']);
const ONE_CHAR = new Set(['<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '[', ']', ',', '.']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };

/** Splits an expression into tokens; the last one is `eof`. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const column = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      const match = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))!;
      const raw = match[0];
      if (isIdentStart(text[i + raw.length] ?? '')) throw new ParseError(`invalid number '${raw}${text[i + raw.length]}'`, column);
      tokens.push({ type: 'number', text: raw, value: Number(raw), column });
      i += raw.length;
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ParseError('unterminated string', column);
        const d = text[j]!;
        if (d === c) break;
        if (d === '\\') {
          const escaped = ESCAPES[text[j + 1] ?? ''];
          if (escaped === undefined) throw new ParseError(`unknown escape '\\${text[j + 1] ?? ''}'`, j + 1);
          value += escaped;
          j += 2;
          continue;
        }
        value += d;
        j++;
      }
      tokens.push({ type: 'string', text: text.slice(i, j + 1), value, column });
      i = j + 1;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < text.length && isIdentPart(text[j]!)) j++;
      const word = text.slice(i, j);
      const op = WORD_OPERATORS[word];
      tokens.push(op ? { type: 'op', text: op, column } : { type: 'ident', text: word, column });
      i = j;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO_CHAR.has(two)) {
      tokens.push({ type: 'op', text: two, column });
      i += 2;
      continue;
    }
    if (ONE_CHAR.has(c)) {
      tokens.push({ type: 'op', text: c, column });
      i++;
      continue;
    }
    if (c === '=') throw new ParseError("'=' is not an operator; compare with '=='", column);
    if (c === '&' || c === '|') throw new ParseError(`'${c}' is not an operator; use '${c}${c}'`, column);
    throw new ParseError(`unexpected character '${c}'`, column);
  }
  tokens.push({ type: 'eof', text: '', column: text.length + 1 });
  return tokens;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}

/** Binding power of infix operators: higher binds tighter; all are left-associative. */
const INFIX: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  in: 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
  '%': 6,
};
const PREFIX_POWER = 7;

/** Parses a whole expression; throws ParseError (and only ParseError) on bad input. */
export function parseExpression(text: string): Expr {
  if (text.length > MAX_EXPRESSION_LENGTH)
    throw new ParseError(`longer than ${MAX_EXPRESSION_LENGTH} characters`, MAX_EXPRESSION_LENGTH + 1);
  const parser = new Parser(tokenize(text));
  if (parser.peek().type === 'eof') throw new ParseError('empty expression', 1);
  const expr = parser.expression(0, 0);
  const rest = parser.peek();
  if (rest.type !== 'eof') throw new ParseError(`unexpected ${describe(rest)}`, rest.column);
  return expr;
}

function describe(token: Token): string {
  if (token.type === 'eof') return 'end of expression';
  if (token.type === 'ident') return `name '${token.text}'`;
  return `'${token.text}'`;
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.at]!;
  }

  private next(): Token {
    const token = this.tokens[this.at]!;
    if (token.type !== 'eof') this.at++;
    return token;
  }

  private isOp(text: string): boolean {
    const token = this.peek();
    return token.type === 'op' && token.text === text;
  }

  private expect(text: string): Token {
    const token = this.next();
    if (token.type !== 'op' || token.text !== text) throw new ParseError(`expected '${text}' but found ${describe(token)}`, token.column);
    return token;
  }

  expression(minPower: number, depth: number): Expr {
    if (depth > MAX_DEPTH) throw new ParseError(`nested deeper than ${MAX_DEPTH} levels`, this.peek().column);
    let left = this.prefix(depth);
    for (;;) {
      const token = this.peek();
      const power = token.type === 'op' ? INFIX[token.text] : undefined;
      if (power === undefined || power <= minPower) return left;
      this.next();
      const right = this.expression(power, depth + 1);
      left =
        token.text === '&&' || token.text === '||'
          ? { type: 'logical', op: token.text, left, right, column: token.column }
          : { type: 'binary', op: token.text as BinaryOp, left, right, column: token.column };
    }
  }

  private prefix(depth: number): Expr {
    const token = this.next();
    if (token.type === 'op' && (token.text === '!' || token.text === '-')) {
      return { type: 'unary', op: token.text, operand: this.expression(PREFIX_POWER, depth + 1), column: token.column };
    }
    return this.postfix(this.primary(token, depth), depth);
  }

  private primary(token: Token, depth: number): Expr {
    const { column } = token;
    switch (token.type) {
      case 'number':
      case 'string':
        return { type: 'literal', value: token.value!, column };
      case 'ident':
        if (token.text === 'true' || token.text === 'false') return { type: 'literal', value: token.text === 'true', column };
        if (token.text === 'null') return { type: 'literal', value: null, column };
        if (this.isOp('(')) {
          this.next();
          return { type: 'call', callee: token.text, args: this.list(')', depth), column };
        }
        return { type: 'ident', name: token.text, column };
      case 'op':
        if (token.text === '(') {
          const inner = this.expression(0, depth + 1);
          this.expect(')');
          return inner;
        }
        if (token.text === '[') return { type: 'array', items: this.list(']', depth), column };
        throw new ParseError(`unexpected ${describe(token)}`, column);
      default:
        throw new ParseError(`unexpected ${describe(token)}`, column);
    }
  }

  /** Comma-separated expressions up to `close` (already past the opener). */
  private list(close: string, depth: number): Expr[] {
    const items: Expr[] = [];
    if (this.isOp(close)) {
      this.next();
      return items;
    }
    for (;;) {
      items.push(this.expression(0, depth + 1));
      if (this.isOp(',')) {
        this.next();
        continue;
      }
      this.expect(close);
      return items;
    }
  }

  private postfix(expr: Expr, depth: number): Expr {
    let current = expr;
    for (let links = 0; ; links++) {
      if (depth + links > MAX_DEPTH) throw new ParseError(`nested deeper than ${MAX_DEPTH} levels`, this.peek().column);
      if (this.isOp('.')) {
        const dot = this.next();
        const name = this.next();
        if (name.type !== 'ident') throw new ParseError(`expected a field name after '.' but found ${describe(name)}`, name.column);
        current = { type: 'member', object: current, property: name.text, propertyColumn: name.column, column: dot.column };
      } else if (this.isOp('[')) {
        const open = this.next();
        const index = this.expression(0, depth + links + 1);
        this.expect(']');
        current = { type: 'index', object: current, index, column: open.column };
      } else {
        return current;
      }
    }
  }
}
