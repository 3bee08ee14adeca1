/** Human roles in increasing order of power; a route needing `deployer` admits moderator and admin too. */
export const HUMAN_ROLES = ['viewer', 'responder', 'deployer', 'moderator', 'admin'] as const;
/**
 * Every role a token can have. `agent` stands outside the ladder: data-plane agents may call the
 * agent routes (desired state, reports) and nothing else; admin may call them too.
 */
export const ROLES = [...HUMAN_ROLES, 'agent'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when a token with role `have` may call a route needing `need`. */
export function roleAtLeast(have: Role, need: Role): boolean {
  if (have === 'agent' || need === 'agent') return have === need || have === 'admin';
  return HUMAN_ROLES.indexOf(have) >= HUMAN_ROLES.indexOf(need);
}

/** Who did something: a token holder, or opsdeck itself (jobs, subscribers). */
export interface Actor {
  kind: 'token' | 'system';
  name: string;
  role: Role;
  tokenId?: string;
}

export const systemActor: Actor = { kind: 'system', name: 'system', role: 'admin' };
