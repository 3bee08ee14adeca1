import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { modules as appModules } from '../app.js';
import type { Clock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import type { DialectName } from '../core/db/database.js';
import { type RunningServer, startServer } from '../core/kernel.js';
import { createLogger } from '../core/logger.js';
import type { ModuleDefinition } from '../core/module.js';
import { TEST_PG_URL } from './databases.js';

export interface TestServer extends RunningServer {
  token: string;
  dataDir: string;
  /** Pass as `store` to start another server on the same data. */
  store: { dataDir: string; schema?: string };
  /** Environment that points another process (CLI, a second replica) at the same store. */
  env: Record<string, string>;
  /** Closes the server and removes its data (temp dir, PostgreSQL schema). */
  destroy(): Promise<void>;
  /** Authenticated fetch against this server. */
  request(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
}

/** A real server on a random loopback port with an isolated store. */
export async function startTestServer(
  options: {
    dialect?: DialectName;
    clock?: Clock;
    modules?: ModuleDefinition[];
    role?: 'all' | 'api' | 'worker';
    bodyLimit?: number;
    /** Reopen the store of an earlier test server (a restart). */
    store?: { dataDir: string; schema?: string };
  } = {},
): Promise<TestServer> {
  const dialect = options.dialect ?? 'sqlite';
  const dataDir = options.store?.dataDir || mkdtempSync(join(tmpdir(), 'opsdeck-srv-'));
  const schema = options.store
    ? options.store.schema
    : dialect === 'postgres'
      ? `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
      : undefined;
  const env: Record<string, string> = { OPSDECK_DATA_DIR: dataDir };
  if (schema) Object.assign(env, { OPSDECK_DATABASE_URL: TEST_PG_URL, OPSDECK_DATABASE_SCHEMA: schema });
  const config = loadConfig(
    { port: 0, host: '127.0.0.1', role: options.role ?? 'all', bodyLimit: options.bodyLimit, shutdownGraceMs: 5000 },
    { ...env, OPSDECK_ADMIN_TOKEN: 'test-admin-token-0123456789' },
  );
  const server = await startServer(config, {
    modules: options.modules ?? appModules,
    clock: options.clock,
    logger: createLogger({ level: process.env.OPSDECK_TEST_LOG ?? 'silent' }),
  });
  const token = 'test-admin-token-0123456789';
  return {
    ...server,
    token,
    dataDir,
    store: { dataDir, schema },
    env: { ...env, OPSDECK_URL: server.url, OPSDECK_TOKEN: token },
    request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token !== '') headers.set('authorization', `Bearer ${init.token ?? token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(`${server.url}${path}`, { ...init, headers, body });
    },
    async destroy() {
      await server.close(2000);
      rmSync(dataDir, { recursive: true, force: true });
      if (schema) {
        const client = new pg.Client({ connectionString: TEST_PG_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
      }
    },
  };
}
