/** The current state of every declarative resource: one row per kind/name. */
export interface ResourcesTable {
  kind: string;
  name: string;
  /** JSON object text. */
  labels: string;
  /** JSON object text. */
  annotations: string;
  /** JSON text of the normalized spec. */
  spec: string;
  generation: number;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

/** Every applied version, newest 100 per resource kept; deletions are versions too. */
export interface ResourceVersionsTable {
  kind: string;
  name: string;
  generation: number;
  action: 'created' | 'configured' | 'deleted';
  /** JSON text of the whole document as stored. */
  document: string;
  applied_by: string;
  applied_at: number;
}

declare module '../db/schema.js' {
  interface Schema {
    resources: ResourcesTable;
    resource_versions: ResourceVersionsTable;
  }
}
