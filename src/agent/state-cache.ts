import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DesiredState } from './protocol.js';

/** What the agent keeps on disk so it serves with its last orders while the control plane is away. */
export interface CachedState {
  desired: DesiredState;
  /** Action ids already executed (kills are one-shot). */
  executedActions: string[];
}

/** Atomic write (temp file + rename): a crash mid-write leaves the previous cache intact. */
export function saveState(stateDir: string, state: CachedState): void {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, 'desired-state.json');
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, path);
}

export function loadState(stateDir: string): CachedState | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(stateDir, 'desired-state.json'), 'utf8')) as CachedState;
    if (typeof parsed?.desired?.revision !== 'number') return undefined;
    return { desired: parsed.desired, executedActions: parsed.executedActions ?? [] };
  } catch {
    return undefined;
  }
}
