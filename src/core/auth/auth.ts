import type { Actor, Role } from './roles.js';

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  createdBy: string;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface Auth {
  /** Resolves a bearer token to its actor, or undefined when unknown or revoked. */
  authenticate(token: string): Promise<Actor | undefined>;
  /** Creates a token; the secret is returned once and only its SHA-256 is stored. */
  createToken(input: { name: string; role: Role; by: Actor; value?: string }): Promise<{ token: string; info: TokenInfo }>;
  listTokens(): Promise<TokenInfo[]>;
  revokeToken(name: string, by: Actor): Promise<TokenInfo>;
  /** First start on an empty store: creates the admin token (from `value` if given). Returns it when created. */
  bootstrapAdmin(value?: string): Promise<string | undefined>;
}
