import { randomBytes } from 'node:crypto';
import type { Audit } from '../audit/audit.js';
import { sha256Hex } from '../canonical-json.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { conflict, notFound, validationFailed } from '../errors.js';
import { newId } from '../ids.js';
import type { Auth, TokenInfo } from './auth.js';
import type { ApiTokensTable } from './auth.tables.js';
import { type Actor, isRole, ROLES, type Role, systemActor } from './roles.js';

const TOKEN_PREFIX = 'odk_';
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** last_used_at is informational; writing it on every request would turn reads into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A new secret: 32 random bytes, base64url, with a recognisable prefix for secret scanners. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

const toInfo = (row: ApiTokensTable): TokenInfo => ({
  id: row.id,
  name: row.name,
  role: row.role as Role,
  createdAt: Number(row.created_at),
  createdBy: row.created_by,
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
});

const isUniqueViolation = (err: unknown) => /unique|duplicate key/i.test(String((err as Error)?.message));

/** Bearer tokens, stored as SHA-256 digests. */
export function createAuth(options: { database: Database; clock: Clock; audit: Audit }): Auth {
  const { database, clock, audit } = options;
  const db = database.db;

  async function insertToken(input: { name: string; role: Role; by: Actor; value?: string }) {
    const issues = [];
    if (!NAME_PATTERN.test(input.name)) {
      issues.push({ pointer: '/name', message: 'must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit' });
    }
    if (!isRole(input.role)) issues.push({ pointer: '/role', message: `must be one of ${ROLES.join(', ')}` });
    if (input.value !== undefined && input.value.length < 16) issues.push({ pointer: '/value', message: 'must be at least 16 characters' });
    if (issues.length) throw validationFailed('invalid token request', issues);
    const token = input.value ?? generateToken();
    const row: ApiTokensTable = {
      id: newId('tok', clock.now()),
      name: input.name,
      role: input.role,
      hash: sha256Hex(token),
      created_at: clock.now(),
      created_by: input.by.name,
      last_used_at: null,
      revoked_at: null,
    };
    try {
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('api_tokens').values(row).execute();
        await audit.record(tx, { actor: input.by, action: 'tokens.create', target: `token/${input.name}`, change: { role: input.role } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a token named '${input.name}' already exists`, { pointer: '/name' });
      throw err;
    }
    return { token, info: toInfo(row) };
  }

  return {
    async authenticate(token) {
      if (!token) return undefined;
      const row = await db
        .selectFrom('api_tokens')
        .selectAll()
        .where('hash', '=', sha256Hex(token))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row || !isRole(row.role)) return undefined;
      const now = clock.now();
      if (row.last_used_at === null || now - Number(row.last_used_at) > LAST_USED_RESOLUTION_MS) {
        await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
      }
      return { kind: 'token', name: row.name, role: row.role, tokenId: row.id };
    },

    createToken: insertToken,

    async listTokens() {
      const rows = await db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
      return rows.map(toInfo);
    },

    async revokeToken(name, by) {
      return db.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('api_tokens')
          .selectAll()
          .where('name', '=', name)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (!row) throw notFound(`no active token named '${name}'`);
        const revokedAt = clock.now();
        await tx.updateTable('api_tokens').set({ revoked_at: revokedAt }).where('id', '=', row.id).execute();
        await audit.record(tx, { actor: by, action: 'tokens.revoke', target: `token/${name}` });
        return toInfo({ ...row, revoked_at: revokedAt });
      });
    },

    async bootstrapAdmin(value) {
      const any = await db.selectFrom('api_tokens').select('id').limit(1).executeTakeFirst();
      if (any) return undefined;
      try {
        const { token } = await insertToken({ name: 'admin', role: 'admin', by: systemActor, value });
        return token;
      } catch (err) {
        // Another replica bootstrapped first.
        if ((err as { status?: number }).status === 409) return undefined;
        throw err;
      }
    },
  };
}
