import { createServer } from 'node:net';

/**
 * A free ephemeral port on `host`: bind port 0, read what the kernel chose, release it.
 * Another process may take it before the instance binds; the instance then fails to start and
 * is restarted with a fresh port, so the race costs a restart, not correctness.
 */
export function allocateEphemeralPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((error) => (error ? reject(error) : port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
