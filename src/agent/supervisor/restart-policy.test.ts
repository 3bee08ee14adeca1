import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import {
  backoffDelay,
  CrashLoopDetector,
  countsTowardCrashLoop,
  DEFAULT_RESTART_POLICY,
  type ExitFacts,
  isQuickExit,
  RestartBackoff,
} from './restart-policy.js';

const facts = (overrides: Partial<ExitFacts>): ExitFacts => ({
  reason: 'crash',
  everReady: false,
  stable: false,
  uptimeMs: 5_000,
  spawnError: false,
  ...overrides,
});

describe('restart backoff', () => {
  it('doubles from 1 s and caps at 60 s', () => {
    const backoff = new RestartBackoff(DEFAULT_RESTART_POLICY);
    const delays = Array.from({ length: 9 }, () => backoff.next());
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    backoff.reset();
    expect(backoff.next()).toBe(1_000);
  });

  it('is non-decreasing, bounded and finite for any failure count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (failures, base, extra) => {
          const config = { backoffBaseMs: base, backoffMaxMs: base + extra };
          const delay = backoffDelay(failures, config);
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(base);
          expect(delay).toBeLessThanOrEqual(config.backoffMaxMs);
          expect(backoffDelay(failures + 1, config)).toBeGreaterThanOrEqual(delay);
        },
      ),
    );
  });
});

describe('crash-loop detector', () => {
  const config = { crashLoopWindowMs: 5 * 60_000, crashLoopThreshold: 5 };

  it('enters the loop on the 5th failure within 5 minutes, once', () => {
    const clock = new FakeClock();
    const detector = new CrashLoopDetector(clock, config);
    const entered = [];
    for (let i = 0; i < 7; i++) {
      entered.push(detector.record());
      clock.advance(30_000);
    }
    expect(entered).toEqual([false, false, false, false, true, false, false]);
    expect(detector.isLooping()).toBe(true);
  });

  it('leaves the loop when the window thins out, and can enter it again', () => {
    const clock = new FakeClock();
    const detector = new CrashLoopDetector(clock, config);
    for (let i = 0; i < 5; i++) detector.record();
    expect(detector.isLooping()).toBe(true);
    clock.advance(5 * 60_000);
    expect(detector.isLooping()).toBe(false);
    expect(detector.count()).toBe(0);
    const entered = Array.from({ length: 5 }, () => detector.record());
    expect(entered).toEqual([false, false, false, false, true]);
  });

  it('never loops when fewer than 5 failures fit in any 5-minute window', () => {
    const clock = new FakeClock();
    const detector = new CrashLoopDetector(clock, config);
    for (let i = 0; i < 50; i++) {
      expect(detector.record()).toBe(false);
      clock.advance(76_000);
    }
  });

  it('clear() ends the loop (an instance held readiness)', () => {
    const clock = new FakeClock();
    const detector = new CrashLoopDetector(clock, config);
    for (let i = 0; i < 5; i++) detector.record();
    detector.clear();
    expect(detector.isLooping()).toBe(false);
    expect(detector.record()).toBe(false);
  });

  it('agrees with a brute-force count over any failure schedule', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 120_000 }), { maxLength: 40 }), (gaps) => {
        const clock = new FakeClock(0);
        const detector = new CrashLoopDetector(clock, config);
        const times: number[] = [];
        for (const gap of gaps) {
          clock.advance(gap);
          times.push(clock.now());
          detector.record();
          const inWindow = times.filter((t) => t > clock.now() - config.crashLoopWindowMs).length;
          expect(detector.count()).toBe(inWindow);
          expect(detector.isLooping()).toBe(inWindow >= config.crashLoopThreshold);
        }
      }),
    );
  });
});

describe('exit classification', () => {
  it('a quick exit is a crash soon after start, or a spawn error, of a run that never served', () => {
    const policy = DEFAULT_RESTART_POLICY;
    expect(isQuickExit(facts({ uptimeMs: 200 }), policy)).toBe(true);
    expect(isQuickExit(facts({ spawnError: true, uptimeMs: 99_999 }), policy)).toBe(true);
    expect(isQuickExit(facts({ uptimeMs: 1_500 }), policy)).toBe(false);
    expect(isQuickExit(facts({ uptimeMs: 200, everReady: true }), policy)).toBe(false);
    expect(isQuickExit(facts({ uptimeMs: 200, reason: 'not-ready' }), policy)).toBe(false);
    expect(isQuickExit(facts({ uptimeMs: 200, reason: 'killed' }), policy)).toBe(false);
  });

  it('kills and runs that held readiness do not count toward a crash loop', () => {
    expect(countsTowardCrashLoop(facts({}))).toBe(true);
    expect(countsTowardCrashLoop(facts({ reason: 'liveness', everReady: true }))).toBe(true);
    expect(countsTowardCrashLoop(facts({ reason: 'not-ready' }))).toBe(true);
    expect(countsTowardCrashLoop(facts({ reason: 'killed' }))).toBe(false);
    expect(countsTowardCrashLoop(facts({ everReady: true, stable: true }))).toBe(false);
  });
});
