import type { Command } from 'commander';
import { EXIT_OK } from './cli-error.js';
import { ApiClient, resolveConnection } from './client.js';
import type { Rendered } from './output.js';

export interface Writer {
  write(chunk: string): unknown;
}

/** Everything a command touches outside itself, so the whole CLI runs in-process in tests. */
export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream;
}

/** Options every command accepts (declared on the program). */
export interface GlobalOptions {
  server?: string;
  token?: string;
  dataDir?: string;
}

/** What command actions share: output streams, the API client, the exit code to end with. */
export class Cli {
  /** Set by commands whose answer is the exit code (`diff`, `audit verify`). */
  exitCode = EXIT_OK;

  constructor(readonly io: CliIo) {}

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  err(text: string): void {
    this.io.stderr.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  print(rendered: Rendered): void {
    if (rendered.stdout) this.io.stdout.write(rendered.stdout);
    if (rendered.stderr) this.io.stderr.write(rendered.stderr);
  }

  now(): number {
    return Date.now();
  }

  globals(command: Command): GlobalOptions {
    return command.optsWithGlobals<GlobalOptions>();
  }

  client(command: Command): ApiClient {
    return new ApiClient(resolveConnection(this.globals(command), this.io.env, this.io.cwd));
  }

  /** Aborts on the first Ctrl-C / SIGTERM, for commands that run until stopped (watchers). */
  interruption(): AbortSignal {
    const controller = new AbortController();
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      controller.abort();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return controller.signal;
  }
}
