import protobuf from 'protobufjs';

/**
 * The subset of opentelemetry-proto that metric ingest needs, written out by hand so there is no
 * code generation step and no runtime dependency on the OpenTelemetry packages. Field numbers and
 * types follow opentelemetry-proto (common/v1, resource/v1, metrics/v1, collector/metrics/v1);
 * a wrong number would silently decode garbage, so the SDK round-trip tests guard them.
 * Messages and fields we never read (exemplars' ids, entity refs, profiles…) are still declared
 * where they sit inside messages we read, so unknown-field skipping is never relied on for them.
 */
const OTLP_METRICS_PROTO = `
syntax = "proto3";

package opentelemetry.proto.common.v1;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
`;

const OTLP_RESOURCE_PROTO = `
syntax = "proto3";
package opentelemetry.proto.resource.v1;
message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
`;

const OTLP_METRICS_V1_PROTO = `
syntax = "proto3";
package opentelemetry.proto.metrics.v1;

message ResourceMetrics {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeMetrics scope_metrics = 2;
  string schema_url = 3;
}
message ScopeMetrics {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Metric metrics = 2;
  string schema_url = 3;
}
message Metric {
  string name = 1;
  string description = 2;
  string unit = 3;
  oneof data {
    Gauge gauge = 5;
    Sum sum = 7;
    Histogram histogram = 9;
    ExponentialHistogram exponential_histogram = 10;
    Summary summary = 11;
  }
  repeated opentelemetry.proto.common.v1.KeyValue metadata = 12;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum {
  repeated NumberDataPoint data_points = 1;
  AggregationTemporality aggregation_temporality = 2;
  bool is_monotonic = 3;
}
message Histogram {
  repeated HistogramDataPoint data_points = 1;
  AggregationTemporality aggregation_temporality = 2;
}
message ExponentialHistogram {
  repeated ExponentialHistogramDataPoint data_points = 1;
  AggregationTemporality aggregation_temporality = 2;
}
message Summary { repeated SummaryDataPoint data_points = 1; }

enum AggregationTemporality {
  AGGREGATION_TEMPORALITY_UNSPECIFIED = 0;
  AGGREGATION_TEMPORALITY_DELTA = 1;
  AGGREGATION_TEMPORALITY_CUMULATIVE = 2;
}

message NumberDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  oneof value {
    double as_double = 4;
    sfixed64 as_int = 6;
  }
  repeated Exemplar exemplars = 5;
  uint32 flags = 8;
}
message HistogramDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  repeated fixed64 bucket_counts = 6;
  repeated double explicit_bounds = 7;
  repeated Exemplar exemplars = 8;
  uint32 flags = 10;
  optional double min = 11;
  optional double max = 12;
}
message ExponentialHistogramDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  sint32 scale = 6;
  fixed64 zero_count = 7;
  Buckets positive = 8;
  Buckets negative = 9;
  message Buckets {
    sint32 offset = 1;
    repeated uint64 bucket_counts = 2;
  }
  uint32 flags = 10;
  repeated Exemplar exemplars = 11;
  optional double min = 12;
  optional double max = 13;
  double zero_threshold = 14;
}
message SummaryDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  double sum = 5;
  message ValueAtQuantile {
    double quantile = 1;
    double value = 2;
  }
  repeated ValueAtQuantile quantile_values = 6;
  uint32 flags = 8;
}
message Exemplar {
  repeated opentelemetry.proto.common.v1.KeyValue filtered_attributes = 7;
  fixed64 time_unix_nano = 2;
  oneof value {
    double as_double = 3;
    sfixed64 as_int = 6;
  }
  bytes span_id = 4;
  bytes trace_id = 5;
}
`;

const OTLP_COLLECTOR_PROTO = `
syntax = "proto3";
package opentelemetry.proto.collector.metrics.v1;
message ExportMetricsServiceRequest {
  repeated opentelemetry.proto.metrics.v1.ResourceMetrics resource_metrics = 1;
}
message ExportMetricsServiceResponse {
  ExportMetricsPartialSuccess partial_success = 1;
}
message ExportMetricsPartialSuccess {
  int64 rejected_data_points = 1;
  string error_message = 2;
}
`;

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // Each snippet declares its own package; parsing them into one root lets the fully qualified
  // cross-package references resolve without an import resolver.
  for (const source of [OTLP_METRICS_PROTO, OTLP_RESOURCE_PROTO, OTLP_METRICS_V1_PROTO, OTLP_COLLECTOR_PROTO]) {
    protobuf.parse(source, root, { keepCase: false });
  }
  root.resolveAll();
  return root;
}

const root = buildRoot();
const requestType = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const responseType = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');

/**
 * Decodes ExportMetricsServiceRequest bytes into the same plain shape the OTLP/JSON mapping gives
 * (lowerCamelCase keys, 64-bit integers as decimal strings, enums as numbers, bytes as base64), so
 * one validator and one converter serve both encodings.
 */
export function decodeExportRequestProto(bytes: Uint8Array): unknown {
  const message = requestType.decode(bytes);
  return requestType.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false, arrays: false });
}

/** Encodes a plain ExportMetricsServiceRequest object (used by tests to build protobuf bodies). */
export function encodeExportRequestProto(request: Record<string, unknown>): Uint8Array {
  return requestType.encode(requestType.fromObject(request)).finish();
}

export function encodeExportResponseProto(partialSuccess: { rejectedDataPoints: number; errorMessage: string } | undefined): Uint8Array {
  const payload = partialSuccess === undefined ? {} : { partialSuccess };
  return responseType.encode(responseType.fromObject(payload)).finish();
}

export function decodeExportResponseProto(bytes: Uint8Array): unknown {
  return responseType.toObject(responseType.decode(bytes), { longs: Number, defaults: false });
}
