import { resolve } from 'node:path';
import { AppError } from './errors.js';

export type ServerRole = 'all' | 'api' | 'worker';

export interface Config {
  port: number;
  host: string;
  /** Directory for the SQLite file, the admin token and other local state. */
  dataDir: string;
  /** `postgres://...` to use PostgreSQL; unset means SQLite inside dataDir. */
  databaseUrl?: string;
  /** PostgreSQL schema to use (created if missing); default `public`. Lets tests and tenants share a database. */
  databaseSchema?: string;
  /** api serves HTTP, worker runs jobs and subscribers, all does both. */
  role: ServerRole;
  logLevel: string;
  /** Request body limit in bytes. */
  bodyLimit: number;
  /** How long SIGTERM waits for in-flight work before exiting. */
  shutdownGraceMs: number;
  /** How long a global-task leader's claim lasts; followers take over within about this long after it dies. */
  leaderLeaseMs: number;
  /** Used as the admin token value on first start of an empty store (automation). */
  adminToken?: string;
  /** The URL people reach this server at, for links in notifications; default: the address it listens on. */
  publicUrl?: string;
}

export const defaultConfig: Config = {
  port: 7070,
  host: 'localhost',
  dataDir: '.opsdeck',
  role: 'all',
  logLevel: 'info',
  bodyLimit: 1024 * 1024,
  shutdownGraceMs: 30_000,
  leaderLeaseMs: 15_000,
};

const ROLES: ServerRole[] = ['all', 'api', 'worker'];

function publicUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  if (!/^https?:\/\/[^\s/]+/.test(v))
    throw new AppError(2, 'usage', `--public-url (or OPSDECK_PUBLIC_URL) must be an http(s) URL, got "${v}"`);
  return v.replace(/\/+$/, '');
}

/** `--data-dir` → `OPSDECK_DATA_DIR`: every server flag can also come from the environment. */
export function envName(flag: string): string {
  return `OPSDECK_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

type Raw = Partial<Record<keyof Config, string | number | undefined>>;

/**
 * Builds the configuration from flags (highest precedence), then `OPSDECK_*` environment
 * variables, then defaults. Throws an AppError naming the offending flag on bad values.
 */
export function loadConfig(flags: Raw = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const pick = (key: keyof Config, flag: string) => flags[key] ?? env[envName(flag)];
  const int = (key: keyof Config, flag: string, fallback: number, min: number, max: number) => {
    const v = pick(key, flag);
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new AppError(2, 'usage', `--${flag} (or ${envName(flag)}) must be an integer from ${min} to ${max}, got "${v}"`);
    }
    return n;
  };
  const role = String(pick('role', 'role') ?? defaultConfig.role) as ServerRole;
  if (!ROLES.includes(role)) {
    throw new AppError(2, 'usage', `--role (or ${envName('role')}) must be one of ${ROLES.join(', ')}, got "${role}"`);
  }
  const databaseUrl = (pick('databaseUrl', 'database-url') as string | undefined) || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new AppError(2, 'usage', `--database-url must be a postgres:// URL, got "${databaseUrl}"`);
  }
  const databaseSchema = (pick('databaseSchema', 'database-schema') as string | undefined) || undefined;
  if (databaseSchema && !/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) {
    throw new AppError(2, 'usage', `--database-schema must be a lower-case SQL identifier, got "${databaseSchema}"`);
  }
  return {
    port: int('port', 'port', defaultConfig.port, 0, 65535),
    host: String(pick('host', 'host') ?? defaultConfig.host),
    dataDir: resolve(String(pick('dataDir', 'data-dir') ?? defaultConfig.dataDir)),
    databaseUrl,
    databaseSchema,
    role,
    logLevel: String(pick('logLevel', 'log-level') ?? defaultConfig.logLevel),
    bodyLimit: int('bodyLimit', 'body-limit', defaultConfig.bodyLimit, 1024, 512 * 1024 * 1024),
    shutdownGraceMs: int('shutdownGraceMs', 'shutdown-grace-ms', defaultConfig.shutdownGraceMs, 0, 3_600_000),
    leaderLeaseMs: int('leaderLeaseMs', 'leader-lease-ms', defaultConfig.leaderLeaseMs, 300, 600_000),
    adminToken: (pick('adminToken', 'admin-token') as string | undefined) || undefined,
    publicUrl: publicUrl(pick('publicUrl', 'public-url') as string | undefined),
  };
}
