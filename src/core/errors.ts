/** An error that maps to an HTTP status and the uniform body `{ error: { code, message, details } }`. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toBody(): { error: { code: string; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

/** One problem with an input, located by JSON pointer and, where known, file/line/column. */
export interface FieldIssue {
  pointer: string;
  message: string;
  file?: string;
  document?: number;
  line?: number;
  column?: number;
}

export const badRequest = (message: string, details?: unknown) => new AppError(400, 'bad_request', message, details);
export const validationFailed = (message: string, issues: FieldIssue[]) => new AppError(400, 'validation_failed', message, { issues });
export const unauthorized = (message = 'a valid bearer token is required') => new AppError(401, 'unauthorized', message);
export const forbidden = (message: string) => new AppError(403, 'forbidden', message);
export const notFound = (message: string, details?: unknown) => new AppError(404, 'not_found', message, details);
export const conflict = (message: string, details?: unknown) => new AppError(409, 'conflict', message, details);
export const payloadTooLarge = (message: string) => new AppError(413, 'payload_too_large', message);
