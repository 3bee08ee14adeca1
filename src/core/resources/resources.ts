import type { TObject, TSchema } from '@sinclair/typebox';
import type { Actor } from '../auth/roles.js';
import type { Executor } from '../db/database.js';
import type { FieldIssue } from '../errors.js';

export const API_VERSION = 'opsdeck.dev/v1';

export interface ResourceMetadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A declarative document as users write it. */
export interface ResourceDocument<Spec = Record<string, unknown>> {
  apiVersion: typeof API_VERSION;
  kind: string;
  metadata: ResourceMetadata;
  spec: Spec;
}

/** A stored resource: the document plus bookkeeping. */
export interface StoredResource<Spec = Record<string, unknown>> extends ResourceDocument<Spec> {
  generation: number;
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
}

/** A reference from one resource's spec to another resource, checked on apply and delete. */
export interface ResourceRef {
  kind: string;
  name: string;
  /** JSON pointer inside the document, e.g. `/spec/owner`. */
  pointer: string;
}

/** Looks up a resource as it will be after the batch: the batch's documents shadow the store. */
export type Lookup = (kind: string, name: string) => Promise<ResourceDocument | undefined>;

/** Every resource of a kind as it will be after the batch, by name (for uniqueness checks across resources). */
export type ListLookup = (kind: string) => Promise<ResourceDocument[]>;

/** Checks a section added by `extend` brings along; they run after the kind's own `validate`. */
export interface ExtensionHooks {
  /** Semantic checks of the whole document (pointers relative to it); read others only through `lookup`/`list`. */
  validate?(doc: ResourceDocument, lookup: Lookup, list: ListLookup): Promise<FieldIssue[]> | FieldIssue[];
}

export interface KindDefinition<Spec = Record<string, unknown>> {
  kind: string;
  /** Owning module id. */
  module: string;
  description: string;
  /** TypeBox schema of `spec`; sections added by other modules via `extend`. */
  spec: TObject;
  /** Other resources this one names; each must exist (in the store or the same batch). */
  refs?(spec: Spec): ResourceRef[];
  /** Semantic checks beyond the schema; pointers are relative to the document. */
  validate?(doc: ResourceDocument<Spec>, lookup: Lookup, list: ListLookup): Promise<FieldIssue[]> | FieldIssue[];
  /** Fills defaults into the spec before it is stored (e.g. RTO/RPO from tier). */
  normalize?(spec: Spec): Spec;
  /** The service a resource concerns, for the change timeline. */
  service?(doc: ResourceDocument<Spec>): string | undefined;
  /** Columns for `opsdeck get KIND -o table`, besides NAME and AGE. */
  columns?: { header: string; value(doc: ResourceDocument<Spec>): string }[];
  /** Runs in the apply transaction after the row is written (read models, timers). */
  onApply?(tx: Executor, doc: StoredResource<Spec>, previous: StoredResource<Spec> | undefined): Promise<void>;
  onDelete?(tx: Executor, doc: StoredResource<Spec>): Promise<void>;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  kind: string;
  name: string;
  action: ApplyAction;
  generation: number;
  file?: string;
  document?: number;
}

/** What `apply` and `diff` take: raw files (YAML or JSON, multi-document) and/or parsed documents. */
export interface ApplyInput {
  files?: { name: string; content: string }[];
  documents?: unknown[];
}

export interface ResourceVersion {
  kind: string;
  name: string;
  generation: number;
  action: 'created' | 'configured' | 'deleted';
  document: ResourceDocument;
  appliedBy: string;
  appliedAt: number;
}

export interface DiffResult {
  kind: string;
  name: string;
  action: ApplyAction;
  /** Unified diff of the YAML rendering, empty when unchanged. */
  diff: string;
  file?: string;
  document?: number;
}

export interface Resources {
  register<Spec>(definition: KindDefinition<Spec>): void;
  /** Adds an optional spec section owned by another module (e.g. `runtime` on Service, `notificationRules` on User), with its own checks. */
  extend(kind: string, section: string, schema: TSchema, owner: string, hooks?: ExtensionHooks): void;
  kinds(): KindDefinition[];
  /** Parses, validates and applies a batch atomically; on any issue throws a 400 listing all of them. */
  apply(input: ApplyInput, actor: Actor): Promise<ApplyResult[]>;
  diff(input: ApplyInput): Promise<DiffResult[]>;
  get<Spec = Record<string, unknown>>(kind: string, name: string, tx?: Executor): Promise<StoredResource<Spec> | undefined>;
  list<Spec = Record<string, unknown>>(
    kind: string,
    filter?: { labels?: Record<string, string> },
    tx?: Executor,
  ): Promise<StoredResource<Spec>[]>;
  delete(kind: string, name: string, actor: Actor): Promise<StoredResource>;
  history(kind: string, name: string): Promise<ResourceVersion[]>;
}
