export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  /** SHA-256 hex of the secret; the secret itself is never stored. */
  hash: string;
  created_at: number;
  created_by: string;
  last_used_at: number | null;
  revoked_at: number | null;
}

declare module '../db/schema.js' {
  interface Schema {
    api_tokens: ApiTokensTable;
  }
}
