import type { Counter, Histogram } from 'prom-client';
import type { Actor } from '../../../core/auth/roles.js';
import type { AnalysisService, DeliveryContext, FreezeService } from '../contracts.js';
import type { KeyedMutex } from './mutex.js';

/** What the rollouts part needs: the delivery context plus the analysis and freeze parts it drives. */
export interface RolloutsContext extends DeliveryContext {
  analysis: AnalysisService;
  freezes: FreezeService;
  locks: KeyedMutex;
  metrics: {
    /** Failing decision → canary weight 0. */
    rollbackSeconds: Histogram;
    transitions: Counter;
  };
}

export const JOB_STEP = 'delivery.rollout.step';
export const JOB_DEADLINE = 'delivery.rollout.deadline';
export const JOB_SIGNAL = 'delivery.rollout.signal';

/** A kick: run the engine now. One pending per rollout. */
export const stepKey = (id: string) => `${JOB_STEP}:${id}`;
/** A wake-up at a time (pause end, readiness poll, scale-down delay). One pending per rollout. */
export const timerKey = (id: string) => `delivery.rollout.timer:${id}`;
export const deadlineKey = (id: string) => `${JOB_DEADLINE}:${id}`;

/** How often the engine looks at readiness while it waits for instances (agent events also kick it). */
export const READY_POLL_MS = 2000;

/** Transitions opsdeck makes by itself (jobs, subscribers). */
export const engineActor: Actor = { kind: 'system', name: 'delivery', role: 'admin' };
