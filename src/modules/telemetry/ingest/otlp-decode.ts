import { AppError } from '../../../core/errors.js';
import type { Sample } from '../contracts.js';
import { convertMetric, resourceLabels } from './otlp-convert.js';
import { decodeExportRequestProto, encodeExportResponseProto } from './otlp-proto.js';
import { OtlpShapeError, readArray, readAttributes, readObject } from './otlp-values.js';

export type OtlpEncoding = 'json' | 'protobuf';

export interface OtlpDecodeResult {
  samples: Sample[];
  /** Data points that were not converted (delta temporality, exponential histograms, malformed). */
  rejected: number;
  /** One message per rejected metric, naming it and saying why. */
  errors: string[];
}

/**
 * The request as a whole could not be read (not JSON, not protobuf, wrong top-level shape). OTLP
 * says to answer 400 without retry; the route maps this AppError to exactly that.
 */
export class OtlpDecodeError extends AppError {
  constructor(message: string) {
    super(400, 'invalid_otlp', message);
    this.name = 'OtlpDecodeError';
  }
}

// Keep the partial-success message bounded: an export of thousands of bad metrics must not turn
// into a megabyte response.
const MAX_ERRORS = 20;

/**
 * Decodes an OTLP/HTTP ExportMetricsServiceRequest and converts it to Prometheus samples. Metrics
 * that cannot be converted are counted in `rejected` instead of failing the whole request, which
 * is what OTLP's partial success is for; only an unreadable body throws.
 */
export function decodeOtlpMetrics(body: Buffer | Uint8Array | string | object, encoding: OtlpEncoding): OtlpDecodeResult {
  const request = encoding === 'json' ? parseJsonBody(body) : parseProtobufBody(body);
  const samples: Sample[] = [];
  const errors: string[] = [];
  let rejected = 0;
  let moreErrors = 0;
  try {
    const root = readObject(request, 'request');
    const resources = readArray(root.resourceMetrics, 'resourceMetrics');
    for (let r = 0; r < resources.length; r++) {
      const rPath = `resourceMetrics[${r}]`;
      const resourceMetrics = readObject(resources[r], rPath);
      const resource = resourceMetrics.resource === undefined ? {} : readObject(resourceMetrics.resource, `${rPath}.resource`);
      const target = resourceLabels(readAttributes(resource.attributes, `${rPath}.resource.attributes`));
      const scopes = readArray(resourceMetrics.scopeMetrics, `${rPath}.scopeMetrics`);
      for (let s = 0; s < scopes.length; s++) {
        const sPath = `${rPath}.scopeMetrics[${s}]`;
        const metrics = readArray(readObject(scopes[s], sPath).metrics, `${sPath}.metrics`);
        for (let m = 0; m < metrics.length; m++) {
          const outcome = convertMetric(metrics[m]!, `${sPath}.metrics[${m}]`, target, samples);
          rejected += outcome.rejected;
          if (outcome.error !== undefined) {
            if (errors.length < MAX_ERRORS) errors.push(outcome.error);
            else moreErrors++;
          }
        }
      }
    }
  } catch (err) {
    if (err instanceof OtlpShapeError) throw new OtlpDecodeError(`invalid ExportMetricsServiceRequest: ${err.message}`);
    throw err;
  }
  if (moreErrors > 0) errors.push(`… and ${moreErrors} more rejected metric${moreErrors === 1 ? '' : 's'}`);
  return { samples, rejected, errors };
}

function parseJsonBody(body: Buffer | Uint8Array | string | object): unknown {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new OtlpDecodeError(`invalid OTLP/JSON body: ${(err as Error).message}`);
    }
  }
  return body;
}

function parseProtobufBody(body: Buffer | Uint8Array | string | object): unknown {
  if (!(body instanceof Uint8Array)) throw new OtlpDecodeError('an OTLP/protobuf body must be raw bytes');
  try {
    return decodeExportRequestProto(body);
  } catch (err) {
    throw new OtlpDecodeError(`invalid OTLP/protobuf body: ${(err as Error).message}`);
  }
}

export interface OtlpResponseInput {
  rejected: number;
  errorMessage?: string;
}

/**
 * Builds the ExportMetricsServiceResponse body. `partialSuccess` is only set when something was
 * rejected or there is a message: OTLP clients treat its presence as a partial failure to log.
 */
export function encodeOtlpResponse(input: OtlpResponseInput, encoding: 'json'): string;
export function encodeOtlpResponse(input: OtlpResponseInput, encoding: 'protobuf'): Buffer;
export function encodeOtlpResponse(input: OtlpResponseInput, encoding: OtlpEncoding): string | Buffer;
export function encodeOtlpResponse(input: OtlpResponseInput, encoding: OtlpEncoding): string | Buffer {
  const message = input.errorMessage ?? '';
  const partial = input.rejected > 0 || message !== '' ? { rejectedDataPoints: input.rejected, errorMessage: message } : undefined;
  if (encoding === 'json') {
    // int64 is a decimal string in the OTLP/JSON mapping.
    return JSON.stringify(
      partial === undefined ? {} : { partialSuccess: { rejectedDataPoints: String(partial.rejectedDataPoints), errorMessage: message } },
    );
  }
  const bytes = encodeExportResponseProto(partial);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
