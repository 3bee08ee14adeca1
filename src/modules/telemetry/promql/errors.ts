/**
 * Errors raised by the PromQL engine. Syntax and type errors are both "bad_data" in Prometheus'
 * API (400); unsupported features are the caller's cue to route the query to a real Prometheus;
 * runtime errors are "execution" errors (422).
 */

export class PromqlSyntaxError extends Error {
  override readonly name = 'PromqlSyntaxError';
  /** 1-based line and column, as editors show them. */
  readonly line: number;
  readonly column: number;

  constructor(
    message: string,
    /** 0-based character offset into the query text. */
    readonly position: number,
    text = '',
  ) {
    const { line, column } = lineColumn(text, position);
    super(message);
    this.line = line;
    this.column = column;
  }
}

export class UnsupportedPromqlError extends Error {
  override readonly name = 'UnsupportedPromqlError';

  constructor(
    /** What is unsupported, e.g. `function "predict_linear"` or `subquery`. */
    readonly feature: string,
    readonly position = 0,
  ) {
    super(`${feature} is not supported by the built-in store; use a MetricsProvider of type prometheus for this query`);
  }
}

export class PromqlRuntimeError extends Error {
  override readonly name = 'PromqlRuntimeError';
}

function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}
