import type { Clock } from '../../core/clock.js';
import type { ShutdownSpec } from '../protocol.js';
import { type ExitInfo, type ProcessHandle, signalGroup } from './process-handle.js';

export interface GracefulStopOptions {
  handle: ProcessHandle;
  clock: Clock;
  shutdown: ShutdownSpec;
  /** The router stops new requests and waits for in-flight ones; bounded by the grace period. */
  drain?: () => Promise<void>;
  onDrainError?: (error: unknown) => void;
  onForce?: () => void;
}

/**
 * Kubernetes-style termination: drain (bounded by the grace period), the shutdown signal to the
 * process group, SIGKILL once the grace period is over, and a final SIGKILL to the group so that
 * nothing the instance forked outlives it.
 */
export async function stopGracefully(options: GracefulStopOptions): Promise<{ info: ExitInfo; forced: boolean }> {
  const { handle, clock } = options;
  const { signal, gracePeriodMs } = options.shutdown;
  if (options.drain) await bounded(clock, options.drain(), gracePeriodMs, options.onDrainError);
  handle.signalGroup(signal);
  let forced = false;
  const cancelKill = clock.setTimer(gracePeriodMs, () => {
    forced = true;
    options.onForce?.();
    handle.signalGroup('SIGKILL');
  });
  const info = await handle.exited;
  cancelKill();
  signalGroup(null, handle.pgid, 'SIGKILL');
  return { info, forced };
}

async function bounded(clock: Clock, work: Promise<void>, ms: number, onError?: (error: unknown) => void): Promise<void> {
  let cancel = () => {};
  const timeout = new Promise<void>((resolve) => {
    cancel = clock.setTimer(ms, resolve);
  });
  try {
    await Promise.race([work, timeout]);
  } catch (error) {
    onError?.(error);
  } finally {
    cancel();
  }
}
