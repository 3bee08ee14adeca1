import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabelledSeries } from './scoring.js';

export const NAB_DIR = process.env.NAB_DIR ?? '/work/shared/nab';

export interface NabFile extends LabelledSeries {
  t: number[];
  v: number[];
}

/** NAB timestamps are UTC wall-clock strings: '2014-04-10 07:15:00' or with '.000000'. */
export function parseNabTime(text: string): number {
  const ms = Date.parse(
    `${text
      .trim()
      .replace(' ', 'T')
      .replace(/\.\d+$/, '')}Z`,
  );
  if (Number.isNaN(ms)) throw new Error(`not a NAB timestamp: ${text}`);
  return ms;
}

export function parseCsv(text: string): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line.trim()) continue;
    const comma = line.indexOf(',');
    t.push(parseNabTime(line.slice(0, comma)));
    v.push(Number(line.slice(comma + 1)));
  }
  return { t, v };
}

/** Window [start, end] times → inclusive index range of the points inside it. */
export function windowIndices(t: number[], start: number, end: number): [number, number] {
  let a = 0;
  while (a < t.length && t[a]! < start) a++;
  let b = t.length - 1;
  while (b >= 0 && t[b]! > end) b--;
  return [a, b];
}

export function loadNab(dir = NAB_DIR): NabFile[] {
  const windows = JSON.parse(readFileSync(join(dir, 'combined_windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  const files: NabFile[] = [];
  for (const category of readdirSync(join(dir, 'data')).sort()) {
    for (const file of readdirSync(join(dir, 'data', category)).sort()) {
      if (!file.endsWith('.csv')) continue;
      const name = `${category}/${file}`;
      const { t, v } = parseCsv(readFileSync(join(dir, 'data', category, file), 'utf8'));
      const labelled = windows[name];
      if (!labelled) throw new Error(`${name} has no entry in combined_windows.json`);
      files.push({
        name,
        t,
        v,
        length: t.length,
        windows: labelled.map(([s, e]) => windowIndices(t, parseNabTime(s), parseNabTime(e))),
      });
    }
  }
  return files;
}
