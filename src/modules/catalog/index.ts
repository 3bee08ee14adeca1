import { defineModule } from '../../core/module.js';
import { registerCatalogKinds } from './catalog.kinds.js';
import { type CatalogApi, createCatalog } from './catalog.service.js';

export type {
  CatalogService,
  CatalogTeam,
  CatalogUser,
  Contact,
  NormalizedServiceSpec,
  ServiceSpec,
  TeamSpec,
  UserSpec,
} from './catalog.schema.js';
export { ServiceName, TeamName, UserName } from './catalog.schema.js';
export type { CatalogApi } from './catalog.service.js';
export { DEFAULT_TIER, type Tier, type TierDefaults, tierDefaults } from './tiers.js';

/** Teams, users and services: who owns what, how critical it is, and what it depends on. */
export const catalogModule = defineModule<CatalogApi>({
  id: 'catalog',
  migrations: [],
  setup(ctx) {
    registerCatalogKinds(ctx.core.resources);
    return createCatalog(ctx.core.resources);
  },
});
