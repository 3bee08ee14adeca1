import { PromqlSyntaxError, parsePromql, UnsupportedPromqlError } from './promql/index.js';

/** Why `text` is not a query the built-in store can run, or undefined when it is (apply-time checks). */
export function checkPromql(text: string): { message: string; position?: number } | undefined {
  try {
    parsePromql(text);
    return undefined;
  } catch (err) {
    if (err instanceof PromqlSyntaxError) return { message: err.message, position: err.position };
    if (err instanceof UnsupportedPromqlError) return { message: err.message };
    throw err;
  }
}
