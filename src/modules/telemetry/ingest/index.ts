/** Metric ingest decoders: Prometheus/OpenMetrics text and OTLP/HTTP metrics, to telemetry Samples. */

export {
  type ExpositionBatch,
  type MetricFamilyInfo,
  type MetricType,
  type ParsedExposition,
  type ParseExpositionOptions,
  parseExposition,
  parseExpositionBatch,
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
export { BoundedSeriesCache, type ParsedSeries, type SeriesTextCache } from './series-text.js';
