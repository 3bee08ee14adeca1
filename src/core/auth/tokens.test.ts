import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../testing/databases.js';
import { auditMigrations } from '../audit/audit.migrations.js';
import { createAudit } from '../audit/chain.js';
import { sha256Hex } from '../canonical-json.js';
import { FakeClock } from '../clock.js';
import type { Auth } from './auth.js';
import { authMigrations } from './auth.migrations.js';
import { systemActor } from './roles.js';
import { createAuth } from './tokens.js';

describe.each(DIALECTS)('tokens on %s', (dialect) => {
  let database: TestDatabase;
  let auth: Auth;

  beforeEach(async () => {
    database = await openTestDatabase(dialect, [{ module: 'core', migrations: [...authMigrations, ...auditMigrations] }]);
    const clock = new FakeClock();
    auth = createAuth({ database, clock, audit: createAudit({ database, clock }) });
  });
  afterEach(() => database.destroy());

  it('stores only the SHA-256 of the secret and authenticates with it', async () => {
    const { token, info } = await auth.createToken({ name: 'ci', role: 'deployer', by: systemActor });
    expect(token).toMatch(/^odk_[A-Za-z0-9_-]{43}$/);
    const row = await database.db.selectFrom('api_tokens').selectAll().where('name', '=', 'ci').executeTakeFirstOrThrow();
    expect(row.hash).toBe(sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(await auth.authenticate(token)).toMatchObject({ name: 'ci', role: 'deployer', tokenId: info.id });
    expect(await auth.authenticate(`${token}x`)).toBeUndefined();
  });

  it('revoked tokens stop working and the name can be reused', async () => {
    const { token } = await auth.createToken({ name: 'ci', role: 'viewer', by: systemActor });
    await expect(auth.createToken({ name: 'ci', role: 'viewer', by: systemActor })).rejects.toMatchObject({ status: 409 });
    await auth.revokeToken('ci', systemActor);
    expect(await auth.authenticate(token)).toBeUndefined();
    await expect(auth.revokeToken('ci', systemActor)).rejects.toMatchObject({ status: 404 });
    const again = await auth.createToken({ name: 'ci', role: 'admin', by: systemActor });
    expect((await auth.authenticate(again.token))?.role).toBe('admin');
  });

  it('rejects bad names and roles naming the field', async () => {
    await expect(auth.createToken({ name: 'Bad Name', role: 'viewer', by: systemActor })).rejects.toMatchObject({
      status: 400,
      details: { issues: [{ pointer: '/name' }] },
    });
    // @ts-expect-error an invalid role on purpose
    await expect(auth.createToken({ name: 'x', role: 'root', by: systemActor })).rejects.toMatchObject({ status: 400 });
    expect(await auth.listTokens()).toEqual([]);
  });

  it('bootstraps the admin token once, from a given value when provided', async () => {
    const value = 'automation-secret-0123456789';
    expect(await auth.bootstrapAdmin(value)).toBe(value);
    expect(await auth.bootstrapAdmin()).toBeUndefined();
    expect(await auth.authenticate(value)).toMatchObject({ name: 'admin', role: 'admin' });
  });
});
