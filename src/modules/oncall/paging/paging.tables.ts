export interface OncallSecretsTable {
  purpose: string;
  /** base64 of 32 random bytes. */
  value: string;
  created_at: number;
}

declare module '../../../core/db/schema.js' {
  interface Schema {
    oncall_secrets: OncallSecretsTable;
  }
}
