/**
 * The time source the router reads: `now()` for ejection periods and fault expiry. When the clock can
 * also set timers (core's Clock, FakeClock in tests), fault expiry and drain grace use them, so tests
 * drive those on fake time; otherwise they fall back to real timers.
 */
export interface RouterClock {
  now(): number;
  setTimer?(ms: number, fn: () => void): () => void;
}
