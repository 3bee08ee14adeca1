import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(value: string): value is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(value);
}

/** Aligned columns separated by three spaces, like kubectl; the last column is never padded. */
export function formatTable(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const lines = all.map((row) =>
    headers
      .map((_, i) => {
        const cell = row[i] ?? '';
        return i === headers.length - 1 ? cell : cell.padEnd(widths[i]);
      })
      .join('   ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * An elapsed time in the largest unit that keeps it readable: 45s, 5m, 3h, 2d, 1y.
 * Rounded down, so "1h" means at least an hour ago.
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 365) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** How long ago `at` was; `-` when there is no time (never used, not revoked). */
export function formatAge(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  return formatDuration(now - at);
}

/** A time that may be in the future (a job's next run): `in 5m`, `3h ago`, `now`. */
export function formatRelative(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  const delta = at - now;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** One line of free text in a table cell: newlines collapsed, long text cut with an ellipsis. */
export function cell(value: unknown, max = 60): string {
  if (value === null || value === undefined || value === '') return '-';
  const text = String(value).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** JSON or YAML rendering of a value, ending in a newline. */
export function formatData(format: 'json' | 'yaml', data: unknown): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  return stringify(data, { lineWidth: 0 });
}

/** What a command prints: data on stdout, notes (like "no tokens") on stderr so pipes stay clean. */
export interface Rendered {
  stdout: string;
  stderr: string;
}

/**
 * Renders for `-o`: json/yaml show the data as the API returned it, table shows the columns.
 * A table with no rows prints a short note on stderr instead of a lone header line.
 */
export function render<T>(
  format: OutputFormat,
  data: T,
  table: { headers: string[]; rows: (data: T) => string[][]; empty?: string },
): Rendered {
  if (format !== 'table') return { stdout: formatData(format, data), stderr: '' };
  const rows = table.rows(data);
  if (rows.length === 0) return { stdout: '', stderr: `${table.empty ?? 'nothing found'}\n` };
  return { stdout: formatTable(table.headers, rows), stderr: '' };
}
