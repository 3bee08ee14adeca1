/** Metric ingest decoders: Prometheus/OpenMetrics text and OTLP/HTTP metrics, to telemetry Samples. */

export {
  type MetricFamilyInfo,
  type MetricType,
  type ParsedExposition,
  type ParseExpositionOptions,
  parseExposition,
} from './exposition.js';
export { ExpositionError } from './exposition-tokens.js';
export { checkLimits, type LimitViolation, type SampleLimits } from './limits.js';
export { isValidLabelName, isValidMetricName, sanitizeLabelName, sanitizeMetricName } from './names.js';
export {
  decodeOtlpMetrics,
  encodeOtlpResponse,
  OtlpDecodeError,
  type OtlpDecodeResult,
  type OtlpEncoding,
  type OtlpResponseInput,
} from './otlp-decode.js';
