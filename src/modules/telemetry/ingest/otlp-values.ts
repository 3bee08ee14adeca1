/**
 * Readers over the plain OTLP object (OTLP/JSON as sent, or protobuf decoded to the same shape).
 * Each validates one field and names its path when it is wrong, because a collector operator
 * debugging a rejected export only has our error message to go on.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A shape problem at a path inside the request; caught per metric and reported as a rejection. */
export class OtlpShapeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'OtlpShapeError';
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new OtlpShapeError(path, `expected an object, got ${describe(value)}`);
  return value;
}

/** A repeated field: absent means empty, as in proto3. */
export function readArray(value: unknown, path: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpShapeError(path, `expected an array, got ${describe(value)}`);
  return value;
}

export function readString(value: unknown, path: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new OtlpShapeError(path, `expected a string, got ${describe(value)}`);
  return value;
}

export function readBool(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new OtlpShapeError(path, `expected a boolean, got ${describe(value)}`);
  return value;
}

const INT64 = /^-?\d{1,20}$/;

/** int64/fixed64: the JSON mapping allows a decimal string or a number; we want a JS number. */
export function readInt64(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && INT64.test(value)) return Number(value);
  throw new OtlpShapeError(path, `expected an integer (number or decimal string), got ${describe(value)}`);
}

export function readUint(value: unknown, path: string): number {
  const n = readInt64(value, path);
  if (n < 0) throw new OtlpShapeError(path, `expected a non-negative integer, got ${n}`);
  return n;
}

/** double: a number, or the strings the proto3 JSON mapping uses for non-finite values. */
export function readDouble(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    const n = Number(value);
    if (value.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new OtlpShapeError(path, `expected a number, got ${describe(value)}`);
}

/**
 * `time_unix_nano` → epoch ms, truncated like Prometheus does. Zero means "not set", which we pass
 * on as "at ingest time". Strings are cut rather than converted whole because nanosecond epochs
 * exceed 2^53 and would lose precision as numbers first.
 */
export function readNanosAsMs(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && INT64.test(value) && value[0] !== '-') {
    if (value.length <= 6) return undefined;
    const ms = Number(value.slice(0, -6));
    return ms === 0 ? undefined : ms;
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    const ms = Math.floor(value / 1e6);
    return ms === 0 ? undefined : ms;
  }
  throw new OtlpShapeError(path, `expected a non-negative integer of nanoseconds, got ${describe(value)}`);
}

const TEMPORALITY_NAMES: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

/** Enums are integers in OTLP/JSON; the enum's name is also accepted as protobuf JSON allows it. */
export function readTemporality(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && value in TEMPORALITY_NAMES) return TEMPORALITY_NAMES[value]!;
  throw new OtlpShapeError(path, `expected an aggregation temporality, got ${describe(value)}`);
}

/**
 * An AnyValue as a label value. Non-string values follow the attribute specification's string
 * forms: booleans and numbers as written, bytes as base64, arrays and maps as JSON.
 */
export function anyValueToString(value: unknown, path: string): string {
  if (value === undefined || value === null) return '';
  const v = readObject(value, path);
  if (v.stringValue !== undefined) return readString(v.stringValue, `${path}.stringValue`);
  const json = anyValueToJson(v, path);
  return typeof json === 'string' ? json : JSON.stringify(json);
}

function anyValueToJson(v: JsonObject, path: string): Json {
  if (v.stringValue !== undefined) return readString(v.stringValue, `${path}.stringValue`);
  if (v.boolValue !== undefined) return String(readBool(v.boolValue, `${path}.boolValue`));
  if (v.intValue !== undefined) return String(readInt64(v.intValue, `${path}.intValue`));
  if (v.doubleValue !== undefined) return String(readDouble(v.doubleValue, `${path}.doubleValue`));
  if (v.bytesValue !== undefined) return readString(v.bytesValue, `${path}.bytesValue`);
  if (v.arrayValue !== undefined) {
    const arr = readObject(v.arrayValue, `${path}.arrayValue`);
    return readArray(arr.values, `${path}.arrayValue.values`).map((item, i) => nestedJson(item, `${path}.arrayValue.values[${i}]`));
  }
  if (v.kvlistValue !== undefined) {
    const list = readObject(v.kvlistValue, `${path}.kvlistValue`);
    const out: JsonObject = {};
    readArray(list.values, `${path}.kvlistValue.values`).forEach((kv, i) => {
      const entry = readObject(kv, `${path}.kvlistValue.values[${i}]`);
      out[readString(entry.key, `${path}.kvlistValue.values[${i}].key`)] = nestedJson(
        entry.value,
        `${path}.kvlistValue.values[${i}].value`,
      );
    });
    return out;
  }
  return '';
}

/** Inside arrays and maps scalars keep their JSON types, so `[1,true,"a"]` stays unambiguous. */
function nestedJson(value: unknown, path: string): Json {
  if (value === undefined || value === null) return null;
  const v = readObject(value, path);
  if (v.boolValue !== undefined) return readBool(v.boolValue, `${path}.boolValue`);
  if (v.intValue !== undefined) return readInt64(v.intValue, `${path}.intValue`);
  if (v.doubleValue !== undefined) {
    const d = readDouble(v.doubleValue, `${path}.doubleValue`);
    return Number.isFinite(d) ? d : String(d);
  }
  return anyValueToJson(v, path);
}

/** KeyValue list → [key, value-as-string] pairs. */
export function readAttributes(value: unknown, path: string): Array<[string, string]> {
  const list = readArray(value, path);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < list.length; i++) {
    const kv = readObject(list[i], `${path}[${i}]`);
    out.push([readString(kv.key, `${path}[${i}].key`), anyValueToString(kv.value, `${path}[${i}].value`)]);
  }
  return out;
}
