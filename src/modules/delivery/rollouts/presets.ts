import type { PresetName, StrategySpecValue } from './rollouts.schema.js';

/**
 * The seeds' canaries as presets. Each runs the built-in baseline judge in the background (no
 * `analysis` named), so a bad canary is rolled back between the pauses too, not only at them.
 */
export const PRESET_STRATEGIES: Record<PresetName, StrategySpecValue> = {
  // Seed 000 (TikTok): 1% for 15 minutes, 10% for 30 minutes, 50% for an hour, then 100%.
  'tiktok-default': {
    canary: {
      steps: [
        { setWeight: 1 },
        { pause: { duration: '15m' } },
        { setWeight: 10 },
        { pause: { duration: '30m' } },
        { setWeight: 50 },
        { pause: { duration: '1h' } },
      ],
    },
  },
  // Seed 001 (Pinterest): 5% for 10 minutes, 25% for 30 minutes, then 100%.
  'pinterest-default': {
    canary: {
      steps: [{ setWeight: 5 }, { pause: { duration: '10m' } }, { setWeight: 25 }, { pause: { duration: '30m' } }],
    },
  },
  // Seed 003 (Meta): production canary at 0.1%, then 1%, 5%, 25%, then 100%.
  'meta-default': {
    canary: {
      steps: [
        { setWeight: 0.1 },
        { pause: { duration: '15m' } },
        { setWeight: 1 },
        { pause: { duration: '15m' } },
        { setWeight: 5 },
        { pause: { duration: '30m' } },
        { setWeight: 25 },
        { pause: { duration: '30m' } },
      ],
    },
  },
  // Small services: 10% and 50% with short pauses; the default when a service names nothing.
  fast: {
    canary: {
      steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }],
    },
  },
};

export const DEFAULT_PRESET: PresetName = 'fast';
