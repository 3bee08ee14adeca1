import type { ModuleDefinition } from './core/module.js';
import { alertingModule } from './modules/alerting/index.js';
import { catalogModule } from './modules/catalog/index.js';
import { deliveryModule } from './modules/delivery/index.js';
import { oncallModule } from './modules/oncall/index.js';
import { runtimeModule } from './modules/runtime/index.js';
import { telemetryModule } from './modules/telemetry/index.js';

/** The composition root: every module opsdeck runs, and nothing else. */
export const modules: ModuleDefinition[] = [catalogModule, runtimeModule, deliveryModule, telemetryModule, alertingModule, oncallModule];
