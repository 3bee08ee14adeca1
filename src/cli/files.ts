import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, posix, relative, resolve, sep } from 'node:path';
import { CliError } from './cli-error.js';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** A manifest file as `apply` and `diff` send it: the path the user would recognise, and its text. */
export interface ManifestFile {
  name: string;
  content: string;
}

export interface CollectOptions {
  cwd: string;
  /** Read for `-f -`. */
  stdin?: NodeJS.ReadableStream;
}

const toPosix = (path: string) => path.split(sep).join('/');

function isManifest(name: string): boolean {
  return MANIFEST_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));
}

/** The path as given, normalised; absolute paths inside cwd become relative so errors read `deploy/feed.yaml:3:5`. */
function displayName(given: string, cwd: string): string {
  if (!isAbsolute(given)) return toPosix(normalize(given));
  const rel = relative(cwd, given);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? toPosix(rel) : toPosix(normalize(given));
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every manifest under `dir`, as paths relative to it; hidden entries (.git, .opsdeck) are skipped. */
async function walk(dir: string, seen: Set<string>): Promise<string[]> {
  const real = await realpath(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const found: string[] = [];
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(full)).isDirectory());
    if (isDir) {
      for (const inner of await walk(full, seen)) found.push(join(entry.name, inner));
    } else if (isManifest(entry.name)) {
      found.push(entry.name);
    }
  }
  return found;
}

/**
 * Expands `-f` arguments into files: a file is taken whatever its extension, a directory
 * contributes its .yaml/.yml/.json files recursively in sorted order (so a batch applies the
 * same way on every machine), `-` reads stdin. A file named twice is sent once.
 */
export async function collectFiles(paths: string[], options: CollectOptions): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  const sent = new Set<string>();
  const seenDirs = new Set<string>();
  for (const given of paths) {
    if (given === '-') {
      if (!options.stdin) throw new CliError('-f - needs standard input');
      if (sent.has('-')) continue;
      sent.add('-');
      files.push({ name: '<stdin>', content: await readStream(options.stdin) });
      continue;
    }
    const absolute = resolve(options.cwd, given);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) throw new CliError(`${given}: no such file or directory`);
    const name = displayName(given, options.cwd);
    let members: { path: string; name: string }[];
    if (info.isDirectory()) {
      // Already walked as part of an earlier -f (the same directory, or one containing it).
      if (seenDirs.has(await realpath(absolute))) continue;
      const found = (await walk(absolute, seenDirs)).map(toPosix).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (found.length === 0) throw new CliError(`${given}: no .yaml, .yml or .json files in it`);
      members = found.map((rel) => ({ path: join(absolute, rel), name: posix.join(name, rel) }));
    } else {
      members = [{ path: absolute, name }];
    }
    for (const member of members) {
      const key = await realpath(member.path);
      if (sent.has(key)) continue;
      sent.add(key);
      files.push({ name: member.name, content: await readFile(member.path, 'utf8') });
    }
  }
  return files;
}
