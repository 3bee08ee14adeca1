import { type Logger, pino } from 'pino';

export type { Logger };

/** The process logger: structured JSON; every module logs through a child with a `module` field. */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.OPSDECK_LOG_LEVEL ?? 'info';
  return options.destination ? pino({ level }, options.destination) : pino({ level });
}
