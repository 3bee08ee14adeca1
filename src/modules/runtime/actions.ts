import type { AgentAction } from '../../agent/protocol.js';
import type { Actor } from '../../core/auth/roles.js';
import { newId } from '../../core/ids.js';
import { findRelease, type RuntimeContext, transact } from './context.js';
import { ensureSynced } from './releases.js';
import { insertAction, listReleases } from './runtime.store.js';

/**
 * How long a kill waits for an agent to pick it up. A request nobody executed in time is dropped
 * rather than run much later by an agent that comes back.
 */
export const ACTION_TTL_MS = 5 * 60_000;

export interface KillInput {
  service: string;
  count: number;
  version?: string;
  actor: Actor;
}

/** Asks the agent to SIGKILL `count` instances (they are replaced like crashed ones); executed once. */
export function killInstances(ctx: RuntimeContext, input: KillInput): Promise<AgentAction> {
  return transact(ctx, async (rt) => {
    await ensureSynced(ctx, rt, input.service);
    if (input.version !== undefined) findRelease(input.service, input.version, await listReleases(rt.tx, input.service));
    const action: AgentAction = {
      id: newId('act', rt.now),
      type: 'kill',
      service: input.service,
      ...(input.version === undefined ? {} : { version: input.version }),
      count: input.count,
    };
    await insertAction(rt.tx, {
      id: action.id,
      service: input.service,
      type: 'kill',
      version: input.version ?? null,
      count: input.count,
      created_at: rt.now,
      created_by: input.actor.name,
      expires_at: rt.now + ACTION_TTL_MS,
      done_at: null,
      done_by: null,
    });
    await rt.record({
      actor: input.actor,
      type: 'runtime.instances.kill-requested',
      service: input.service,
      subject: `action/${action.id}`,
      data: { ...action },
    });
    rt.changed();
    return action;
  });
}
