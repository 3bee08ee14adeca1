import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldIssue } from '../errors.js';
import type { Logger } from '../logger.js';

interface AjvIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
}

/** Fastify's schema errors → issues with JSON pointers into the part of the request they concern. */
function validationIssues(error: FastifyError & { validation?: AjvIssue[]; validationContext?: string }): FieldIssue[] {
  const where = error.validationContext ?? 'body';
  return (error.validation ?? []).map((v) => {
    let pointer = v.instancePath ?? '';
    if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') pointer += `/${v.params.missingProperty}`;
    if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') {
      pointer += `/${v.params.additionalProperty}`;
      return { pointer, message: `unknown field in ${where}` };
    }
    return { pointer, message: `${where}${pointer ? ` ${pointer}` : ''} ${v.message ?? 'is invalid'}` };
  });
}

/** Every failure leaves as `{ error: { code, message, details } }`; nothing internal leaks from a 500. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (e.validation) {
    const issues = validationIssues(e);
    return new AppError(400, 'validation_failed', issues[0]?.message ?? 'invalid request', { issues });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(413, 'payload_too_large', 'request body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(415, 'unsupported_media_type', e.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError(400, 'bad_request', 'the JSON body is empty');
  }
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new AppError(400, 'malformed_json', `malformed JSON body: ${e.message}`);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError(e.statusCode, e.code?.toLowerCase() ?? 'bad_request', e.message);
  }
  return new AppError(500, 'internal', 'internal error; see the server log for the request id');
}

export function errorHandler(logger: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) logger.error({ err: error, reqId: request.id }, 'request failed');
    return reply.status(appError.status).send(appError.toBody());
  };
}
