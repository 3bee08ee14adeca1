import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const DEFAULT_SERVER = 'http://localhost:7070';
export const DEFAULT_DATA_DIR = '.opsdeck';
/** The file the server writes its bootstrap admin token to, inside the data dir. */
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface ConnectionOptions {
  server?: string;
  token?: string;
  dataDir?: string;
}

export interface Connection {
  server: string;
  token?: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLocalServer(server: string): boolean {
  try {
    return LOCAL_HOSTS.has(new URL(server).hostname);
  } catch {
    return false;
  }
}

/**
 * Where to connect and with which token: flags, then OPSDECK_URL / OPSDECK_TOKEN, then — only for
 * a server on this machine — the admin token the server wrote into its data dir, so a fresh
 * `opsdeck server` + `opsdeck get ...` works with no setup. A remote server never gets a local file's token.
 */
export function resolveConnection(options: ConnectionOptions, env: NodeJS.ProcessEnv, cwd: string): Connection {
  const server = (options.server ?? env.OPSDECK_URL ?? DEFAULT_SERVER).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliError(`--server must be an http(s) URL, got "${server}"`, EXIT_USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--server must be an http(s) URL, got "${server}"`, EXIT_USAGE);
  }
  const token = options.token ?? (env.OPSDECK_TOKEN || undefined);
  if (token) return { server, token };
  if (!isLocalServer(server)) return { server };
  const dataDir = resolve(cwd, options.dataDir ?? (env.OPSDECK_DATA_DIR || DEFAULT_DATA_DIR));
  try {
    const fromFile = readFileSync(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    return fromFile ? { server, token: fromFile } : { server };
  } catch {
    return { server };
  }
}

/** One validation problem as the server reports it in `details.issues`. */
export interface Issue {
  pointer: string;
  message: string;
  file?: string;
  document?: number;
  line?: number;
  column?: number;
}

/** `deploy/feed.yaml:3:5 /spec/tier: must be ...`, or `document 2 /metadata/name: ...` without a file position. */
export function formatIssue(issue: Issue): string {
  const pointer = issue.pointer ? `${issue.pointer}: ` : '';
  let where = '';
  if (issue.file && issue.line !== undefined) where = `${issue.file}:${issue.line}:${issue.column ?? 1} `;
  else if (issue.file && issue.document !== undefined) where = `${issue.file} document ${issue.document} `;
  else if (issue.file) where = `${issue.file} `;
  else if (issue.document !== undefined) where = `document ${issue.document} `;
  return `${where}${pointer}${issue.message}`;
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: unknown };
}

function issuesOf(details: unknown): Issue[] {
  if (typeof details !== 'object' || details === null) return [];
  const issues = (details as { issues?: unknown }).issues;
  if (!Array.isArray(issues)) return [];
  return issues.filter((i): i is Issue => typeof i === 'object' && i !== null && typeof (i as Issue).message === 'string');
}

/** Turns an error response into the one message a person needs; the JSON body is for programs. */
export function describeError(status: number, body: unknown): CliError {
  const error = (body as ErrorBody | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : `the server answered HTTP ${status}`;
  if (status === 401) return new CliError('the token was not accepted (set --token or OPSDECK_TOKEN)');
  if (status === 403) {
    // The server says "this needs the deployer role or higher; token 'ci' has viewer".
    const has = /\bhas (\w+)\s*$/.exec(message)?.[1];
    const needs = /\bneeds (?:the )?(\w+) role( or higher)?/.exec(message);
    if (has && needs) return new CliError(`your token's role (${has}) may not do this: needs ${needs[1]}${needs[2] ?? ''}`);
    return new CliError(`your token's role may not do this: ${message}`);
  }
  const issues = issuesOf(error?.details);
  if (status === 400 && issues.length > 0) return new CliError(issues.map(formatIssue).join('\n'));
  if (status >= 500) return new CliError(`server error (HTTP ${status}): ${message}`);
  return new CliError(message);
}

export type Query = Record<string, string | number | string[] | undefined>;

/** The server could not be reached at all; watchers retry these, other errors end the command. */
export class UnreachableError extends CliError {}

function describeNetworkError(server: string, err: unknown, timeoutMs: number): Error {
  if (err instanceof Error && err.name === 'AbortError') return err;
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new UnreachableError(`opsdeck at ${server} did not answer within ${Math.round(timeoutMs / 1000)}s`);
  }
  return new UnreachableError(`cannot reach opsdeck at ${server} (is the server running?)`);
}

/** The HTTP API over fetch: JSON in and out, bearer token, errors turned into plain CliErrors. */
export class ApiClient {
  constructor(
    readonly connection: Connection,
    private readonly options: { fetch?: typeof fetch; timeoutMs?: number } = {},
  ) {}

  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
    }
    const qs = params.toString();
    return `${this.connection.server}${path}${qs ? `?${qs}` : ''}`;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path, {});
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: { query?: Query; body?: unknown }): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const headers: Record<string, string> = { accept: 'application/json', ...this.authHeader() };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.send(
      this.url(path, options.query),
      {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(timeoutMs),
      },
      timeoutMs,
    );
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      if (response.ok) throw new CliError(`opsdeck at ${this.connection.server} answered ${path} with a body that is not JSON`);
    }
    if (!response.ok) throw describeError(response.status, body);
    return body as T;
  }

  /** Opens a long-lived response (server-sent events); the caller reads the body. */
  async stream(path: string, query: Query, init: { signal: AbortSignal; headers?: Record<string, string> }): Promise<Response> {
    const response = await this.send(
      this.url(path, query),
      { headers: { accept: 'text/event-stream', ...this.authHeader(), ...init.headers }, signal: init.signal },
      0,
    );
    if (!response.ok) {
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      throw describeError(response.status, body);
    }
    return response;
  }

  private authHeader(): Record<string, string> {
    return this.connection.token ? { authorization: `Bearer ${this.connection.token}` } : {};
  }

  private async send(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    try {
      return await (this.options.fetch ?? fetch)(url, init);
    } catch (err) {
      throw describeNetworkError(this.connection.server, err, timeoutMs);
    }
  }
}
