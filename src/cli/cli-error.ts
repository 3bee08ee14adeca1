/** Exit codes: 0 ok, 1 an error (or, like `diff`, a meaningful "yes"), 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** A failure to report as one plain line (or a few, for validation issues), without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_ERROR,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
