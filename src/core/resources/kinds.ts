import { KindGuard, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { badRequest } from '../errors.js';
import { API_VERSION, type ExtensionHooks, type KindDefinition } from './resources.js';
import { closest } from './schema-errors.js';

/** metadata.name: a DNS label, so names work in URLs, hostnames and metric labels alike. */
export const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const NAME_MESSAGE = "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit";

/** Label values as in Kubernetes: empty, or alphanumerics with `-_.` inside, at most 63 characters. */
const LABEL_VALUE_PATTERN = '^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$';
/** Label keys: an optional DNS-subdomain prefix and `/`, then a name like a label value. */
export const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

interface Extension {
  schema: TSchema;
  owner: string;
  hooks?: ExtensionHooks;
}

/** A registered kind with its composed spec schema and the compiled check of whole documents. */
export interface CompiledKind {
  definition: KindDefinition;
  /** Base spec plus every extension section, strict. */
  spec: TObject;
  check: TypeCheck<TSchema>;
}

export interface KindRegistry {
  register(definition: KindDefinition): void;
  extend(kind: string, section: string, schema: TSchema, owner: string, hooks?: ExtensionHooks): void;
  /** The kind named exactly as in documents, or undefined. */
  find(kind: string): CompiledKind | undefined;
  /** Resolves `Service`, `service`, `services` or `policies` (CLI and URLs); unknown → 400 listing the known kinds. */
  resolve(kind: string): CompiledKind;
  names(): string[];
  all(): CompiledKind[];
}

/**
 * Every object schema that does not say otherwise rejects unknown fields, at every depth:
 * a typo in YAML (`tierr: 2`) must fail loudly instead of being silently ignored. Spreading
 * keeps TypeBox's symbol-keyed markers (Kind, Optional).
 */
export function strict<T extends TSchema>(schema: T): T {
  if (KindGuard.IsObject(schema)) {
    const properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, strict(v)]));
    const additional = schema.additionalProperties;
    return {
      ...schema,
      properties,
      additionalProperties: additional === undefined ? false : typeof additional === 'object' ? strict(additional) : additional,
    };
  }
  if (KindGuard.IsArray(schema)) return { ...schema, items: strict(schema.items) };
  if (KindGuard.IsUnion(schema)) return { ...schema, anyOf: schema.anyOf.map(strict) };
  if (KindGuard.IsRecord(schema)) {
    const patterns = Object.fromEntries(Object.entries(schema.patternProperties).map(([k, v]) => [k, strict(v as TSchema)]));
    return { ...schema, patternProperties: patterns };
  }
  return schema;
}

function documentSchema(kind: string, spec: TObject): TObject {
  return Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION),
      kind: Type.Literal(kind),
      metadata: Type.Object(
        {
          name: Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: NAME_MESSAGE }),
          labels: Type.Optional(
            Type.Record(
              Type.String(),
              Type.String({
                pattern: LABEL_VALUE_PATTERN,
                maxLength: 63,
                errorMessage: "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
              }),
            ),
          ),
          annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        { additionalProperties: false },
      ),
      spec,
    },
    { additionalProperties: false },
  );
}

export function createKindRegistry(): KindRegistry {
  const definitions = new Map<string, KindDefinition>();
  const extensions = new Map<string, Map<string, Extension>>();
  // Compiled lazily and dropped on register/extend: modules extend kinds during setup, in any order.
  const compiled = new Map<string, CompiledKind>();

  function compile(definition: KindDefinition): CompiledKind {
    const cached = compiled.get(definition.kind);
    if (cached) return cached;
    const base = strict(definition.spec);
    const properties: Record<string, TSchema> = { ...base.properties };
    for (const [section, extension] of extensions.get(definition.kind) ?? []) {
      properties[section] = Type.Optional(strict(extension.schema));
    }
    const { properties: _p, required: _r, ...options } = base;
    const spec = Type.Object(properties, { ...options, additionalProperties: false });
    // The kind's own checks first, then each section's, so issues come out in a stable order.
    const validators = [
      definition.validate,
      ...[...(extensions.get(definition.kind)?.values() ?? [])].map((e) => e.hooks?.validate),
    ].filter((v) => v !== undefined);
    const validate: KindDefinition['validate'] =
      validators.length === 0
        ? undefined
        : async (doc, lookup, list) => {
            const issues = [];
            for (const v of validators) issues.push(...(await v(doc, lookup, list)));
            return issues;
          };
    const result = {
      definition: { ...definition, spec, validate },
      spec,
      check: TypeCompiler.Compile(documentSchema(definition.kind, spec)),
    };
    compiled.set(definition.kind, result);
    return result;
  }

  function checkSection(kind: string, section: string, owner: string): void {
    const base = definitions.get(kind);
    if (base && section in base.spec.properties) {
      throw new Error(`${owner} cannot extend ${kind} with '${section}': the ${base.module} module's spec already has it`);
    }
    const existing = extensions.get(kind)?.get(section);
    if (existing && existing.owner !== owner) {
      throw new Error(`${owner} cannot extend ${kind} with '${section}': already added by ${existing.owner}`);
    }
  }

  const registry: KindRegistry = {
    register(definition) {
      if (!/^[A-Z][A-Za-z0-9]*$/.test(definition.kind)) throw new Error(`kind '${definition.kind}' must be PascalCase`);
      if (definitions.has(definition.kind)) throw new Error(`kind ${definition.kind} is already registered`);
      for (const section of extensions.get(definition.kind)?.keys() ?? []) {
        if (section in definition.spec.properties)
          throw new Error(`${definition.kind}.spec.${section} is both in the kind and an extension`);
      }
      definitions.set(definition.kind, definition);
      compiled.delete(definition.kind);
    },

    extend(kind, section, schema, owner, hooks) {
      if (!/^[a-z][A-Za-z0-9]*$/.test(section)) throw new Error(`spec section '${section}' must be camelCase`);
      checkSection(kind, section, owner);
      const sections = extensions.get(kind) ?? new Map<string, Extension>();
      sections.set(section, { schema, owner, hooks });
      extensions.set(kind, sections);
      compiled.delete(kind);
    },

    find(kind) {
      const definition = definitions.get(kind);
      return definition ? compile(definition) : undefined;
    },

    resolve(kind) {
      const exact = registry.find(kind);
      if (exact) return exact;
      const wanted = kind.toLowerCase();
      for (const definition of definitions.values()) {
        const name = definition.kind.toLowerCase();
        const plurals = [`${name}s`, `${name}es`, name.endsWith('y') ? `${name.slice(0, -1)}ies` : undefined];
        if (wanted === name || plurals.includes(wanted)) return compile(definition);
      }
      throw unknownKind(kind, registry.names());
    },

    names: () => [...definitions.keys()].sort(),

    all: () => [...definitions.values()].map(compile).sort((a, b) => a.definition.kind.localeCompare(b.definition.kind)),
  };
  return registry;
}

/** The message for a kind nobody registered, naming the known ones (and the likely intended one). */
export function unknownKindMessage(kind: string, known: string[]): string {
  const guess = closest(kind, known);
  return `unknown kind '${kind}'${guess ? ` (did you mean '${guess}'?)` : ''}; known kinds: ${known.join(', ') || 'none'}`;
}

export function unknownKind(kind: string, known: string[]) {
  return badRequest(unknownKindMessage(kind, known), { kind, knownKinds: known });
}
