import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** What the next agent needs to adopt (or clean up) an instance it did not start. */
export interface PidRecord {
  instance: string;
  service: string;
  version: string;
  index: number;
  pid: number;
  pgid: number;
  port: number;
  specHash: string;
  /** argv as spawned, to recognise the process again and not signal a stranger that reused the pid. */
  command: string;
  args: string[];
  startedAt: number;
  /**
   * Per stream, the offset in its output file where the next reader resumes: where this run's
   * output began (written at spawn), or where the last agent stopped reading (written at detach).
   */
  output?: { stdout: number; stderr: number };
}

/** <stateDir>/instances/<instance>.json, written atomically (tmp + rename). */
export class PidFiles {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'instances');
  }

  write(record: PidRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const path = this.pathOf(record.instance);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(tmp, path);
  }

  remove(instance: string): void {
    try {
      rmSync(this.pathOf(instance), { force: true });
    } catch {
      // A stale file is harmless: the next agent checks the pid and command line before trusting it.
    }
  }

  /** Removes the file only if it still records `pid`. */
  removeIf(instance: string, pid: number): void {
    try {
      const record = parseRecord(JSON.parse(readFileSync(this.pathOf(instance), 'utf8')));
      if (record?.pid !== pid) return;
    } catch {
      return;
    }
    this.remove(instance);
  }

  /** Every readable record; unreadable files are removed (a torn write from a crashed agent). */
  list(): PidRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const records: PidRecord[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.endsWith('.tmp')) {
        rmSync(path, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const record = parseRecord(JSON.parse(readFileSync(path, 'utf8')));
        if (record && record.instance === basename(name, '.json')) records.push(record);
        else rmSync(path, { force: true });
      } catch {
        rmSync(path, { force: true });
      }
    }
    return records;
  }

  pathOf(instance: string): string {
    return join(this.dir, `${instance}.json`);
  }
}

function parseRecord(value: unknown): PidRecord | null {
  if (!value || typeof value !== 'object') return null;
  const r = value as Record<string, unknown>;
  const str = (k: string) => typeof r[k] === 'string';
  const int = (k: string) => Number.isInteger(r[k]) && (r[k] as number) > 0;
  if (!str('instance') || !str('service') || !str('version') || !str('specHash') || !str('command')) return null;
  if (!int('pid') || !int('pgid') || !int('port') || !int('index') || typeof r.startedAt !== 'number') return null;
  if (!Array.isArray(r.args) || !r.args.every((a) => typeof a === 'string')) return null;
  const record = r as unknown as PidRecord;
  // Offsets are a hint (older agents did not write them): a bad one is dropped, not the record.
  const output = r.output as Record<string, unknown> | undefined;
  const offset = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (output !== undefined && !(output && typeof output === 'object' && offset(output.stdout) && offset(output.stderr))) {
    delete record.output;
  }
  return record;
}
