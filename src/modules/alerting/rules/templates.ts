import type { Labels } from '../../telemetry/index.js';

/**
 * The part of Prometheus' alert templating people use: `{{ $labels.name }}`, `{{ $value }}`,
 * `{{ $externalLabels.x }}` is not supported. Values are inserted as text; no functions or pipes
 * (`{{ $value | humanize }}` renders the value with a short number format instead of failing).
 */
export function expandTemplate(text: string, labels: Labels, value: number): string {
  return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (whole, inner: string) => {
    const [head, ...pipes] = inner.split('|').map((s) => s.trim());
    let out: string;
    if (head === '$value' || head === '.Value') out = formatValue(value, pipes);
    else if (head?.startsWith('$labels.')) out = labels[head.slice('$labels.'.length)] ?? '';
    else if (head?.startsWith('.Labels.')) out = labels[head.slice('.Labels.'.length)] ?? '';
    else return whole;
    return out;
  });
}

function formatValue(value: number, pipes: string[]): string {
  if (!pipes.length) return String(value);
  if (pipes[0] === 'humanizePercentage') return `${Number((value * 100).toPrecision(4))}%`;
  if (Math.abs(value) >= 1000) {
    const units = ['', 'k', 'M', 'G', 'T', 'P'];
    let i = 0;
    let v = value;
    while (Math.abs(v) >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${Number(v.toPrecision(4))}${units[i]}`;
  }
  return String(Number(value.toPrecision(4)));
}
