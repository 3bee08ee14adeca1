import { InvalidArgumentError, Option } from 'commander';
import { parseSince } from './duration.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';

// Parsers for option values: a bad value becomes a commander usage error (exit 2) naming the option.

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of 0 or more');
  return n;
}

/** `--since 1h` or an ISO time → epoch ms. */
export function sinceArg(value: string): number {
  try {
    return parseSince(value, Date.now());
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Repeatable and comma-separated: `-l tier=1 -l team=feed` or `-l tier=1,team=feed`. */
export function labelArg(value: string, previous: string[] = []): string[] {
  const labels = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const label of labels) {
    if (!/^[^=\s]+=[^=]*$/.test(label)) throw new InvalidArgumentError(`"${label}" is not key=value`);
  }
  return [...previous, ...labels];
}

/** `a,b` or repeated flags → a list. */
export function listArg(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table' satisfies OutputFormat);
}

export function limitOption(what: string): Option {
  return new Option('--limit <n>', `at most this many ${what}`).argParser(positiveInt);
}

export function sinceOption(): Option {
  return new Option('--since <when>', 'only newer than this: a duration ago (30s, 10m, 1h, 7d) or an ISO time').argParser(sinceArg);
}
