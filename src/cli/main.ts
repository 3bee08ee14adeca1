import { run } from './program.js';

// Entry point (bin/opsdeck imports this). The exit code is set rather than forced so piped
// output is flushed before the process ends.
process.exitCode = await run(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
});
