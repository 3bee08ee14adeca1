export type { PidRecord } from './pid-files.js';
export { allocateEphemeralPort } from './ports.js';
export { backoffDelay, CrashLoopDetector, DEFAULT_RESTART_POLICY, RestartBackoff, type RestartPolicyConfig } from './restart-policy.js';
export { createSupervisor, DEFAULT_TUNING, type SupervisorOptions, type SupervisorTuning } from './supervisor.js';
