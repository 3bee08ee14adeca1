import { describe, expect, it } from 'vitest';
import { HUMAN_ROLES, roleAtLeast } from './roles.js';

describe('roleAtLeast', () => {
  it('orders the human roles', () => {
    expect(roleAtLeast('admin', 'viewer')).toBe(true);
    expect(roleAtLeast('deployer', 'responder')).toBe(true);
    expect(roleAtLeast('moderator', 'deployer')).toBe(true);
    expect(roleAtLeast('responder', 'deployer')).toBe(false);
    expect(roleAtLeast('viewer', 'viewer')).toBe(true);
  });

  it('keeps the agent role off the ladder: agent routes only, and admin may call them', () => {
    for (const r of HUMAN_ROLES) expect(roleAtLeast('agent', r)).toBe(false);
    expect(roleAtLeast('agent', 'agent')).toBe(true);
    expect(roleAtLeast('admin', 'agent')).toBe(true);
    expect(roleAtLeast('deployer', 'agent')).toBe(false);
  });
});
