export type { RouterClock } from './clock.js';
export { createRouter, type OpsdeckRouter, type RouterFailure, type RouterOptions } from './router.js';
