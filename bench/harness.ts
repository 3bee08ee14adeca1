import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

export interface BenchResult {
  name: string;
  rows: Array<Record<string, string | number>>;
  notes?: string[];
}

/** Percentile by nearest rank over an unsorted sample. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function machine(): { cores: number; loadavg: number[]; node: string } {
  return { cores: cpus().length, loadavg: loadavg().map((l) => Math.round(l * 100) / 100), node: process.version };
}

export function printTable(result: BenchResult): void {
  const headers = [...new Set(result.rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v ?? ''));
  const widths = headers.map((h) => Math.max(h.length, ...result.rows.map((r) => cell(r[h]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ');
  console.log(`\n== ${result.name}`);
  console.log(line(headers));
  for (const r of result.rows) console.log(line(headers.map((h) => cell(r[h]))));
  for (const n of result.notes ?? []) console.log(`  ${n}`);
}

/** Writes bench/results/<name>.json (gitignored) with the machine and its load noted. */
export function writeResult(result: BenchResult, started: ReturnType<typeof machine>): string {
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${result.name}.json`);
  const file = { ...result, date: new Date().toISOString(), machine: { ...machine(), loadavgAtStart: started.loadavg } };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  return path;
}
