import { badRequest } from '../../core/errors.js';
import { parseDuration } from '../../core/resources/formats.js';

export const TIER_NUMBERS = [1, 2, 3, 4, 5] as const;
export type Tier = (typeof TIER_NUMBERS)[number];

/** Services that don't say are tier 3: important enough to fail over, not important enough to run hot. */
export const DEFAULT_TIER: Tier = 3;

export interface TierDefaults {
  tier: Tier;
  /** Recovery time objective: how long the service may be down. */
  rto: string;
  /** Recovery point objective: how much recent data may be lost. */
  rpo: string;
  rtoMs: number;
  rpoMs: number;
  /** The recovery strategy expected at this tier. */
  strategy: string;
}

// The disaster-recovery tier table of seed 002 (TikTok's regional failover chapter).
const TABLE: Record<Tier, { rto: string; rpo: string; strategy: string }> = {
  1: { rto: '5m', rpo: '0s', strategy: 'Active-active, instant failover' },
  2: { rto: '15m', rpo: '5m', strategy: 'Warm standby, async replication' },
  3: { rto: '30m', rpo: '0s', strategy: 'Regional failover' },
  4: { rto: '1h', rpo: '0s', strategy: 'Cross-DC sync, strong consistency' },
  5: { rto: '4h', rpo: '24h', strategy: 'Cold standby, daily backups' },
};

export function isTier(value: unknown): value is Tier {
  return typeof value === 'number' && (TIER_NUMBERS as readonly number[]).includes(value);
}

/** RTO, RPO and strategy for a tier; 400 for anything but 1..5. */
export function tierDefaults(tier: number): TierDefaults {
  if (!isTier(tier)) throw badRequest(`tier must be an integer from 1 to 5, got ${tier}`, { pointer: '/tier' });
  const row = TABLE[tier];
  return { tier, ...row, rtoMs: parseDuration(row.rto)!, rpoMs: parseDuration(row.rpo)! };
}
