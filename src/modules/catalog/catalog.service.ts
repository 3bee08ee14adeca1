import type { Executor } from '../../core/db/database.js';
import { notFound } from '../../core/errors.js';
import type { Resources } from '../../core/resources/resources.js';
import type { CatalogService, CatalogTeam, CatalogUser, NormalizedServiceSpec, TeamSpec, UserSpec } from './catalog.schema.js';
import { type TierDefaults, tierDefaults } from './tiers.js';

/**
 * What other modules may ask the catalog. Pass `tx` when calling from inside a transaction:
 * on SQLite a read outside it would wait for it to finish.
 */
export interface CatalogApi {
  getService(name: string, tx?: Executor): Promise<CatalogService | undefined>;
  listServices(filter?: { labels?: Record<string, string> }, tx?: Executor): Promise<CatalogService[]>;
  getTeam(name: string, tx?: Executor): Promise<CatalogTeam | undefined>;
  getUser(name: string, tx?: Executor): Promise<CatalogUser | undefined>;
  tierDefaults(tier: number): TierDefaults;
  /** Every service `service` depends on, directly or not, nearest first; 404 when it does not exist. */
  dependencies(service: string, tx?: Executor): Promise<string[]>;
  /** Every service that depends on `service`, directly or not, nearest first (the blast radius). */
  dependents(service: string, tx?: Executor): Promise<string[]>;
}

export function createCatalog(resources: Resources): CatalogApi {
  const getService = (name: string, tx?: Executor) => resources.get<NormalizedServiceSpec>('Service', name, tx);
  const listServices = (filter?: { labels?: Record<string, string> }, tx?: Executor) =>
    resources.list<NormalizedServiceSpec>('Service', filter, tx);

  /** Breadth-first over an adjacency function, so nearer services come first. */
  const walk = (start: string, edges: (name: string) => string[]): string[] => {
    const seen = new Set([start]);
    const order: string[] = [];
    let frontier = [start];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const name of frontier) {
        for (const n of edges(name)) {
          if (seen.has(n)) continue;
          seen.add(n);
          order.push(n);
          next.push(n);
        }
      }
      frontier = next;
    }
    return order;
  };

  const graph = async (service: string, tx?: Executor) => {
    const all = await listServices(undefined, tx);
    if (!all.some((s) => s.metadata.name === service))
      throw notFound(`Service '${service}' does not exist`, { kind: 'Service', name: service });
    return all;
  };

  return {
    getService,
    listServices,
    getTeam: (name, tx) => resources.get<TeamSpec>('Team', name, tx),
    getUser: (name, tx) => resources.get<UserSpec>('User', name, tx),
    tierDefaults,
    async dependencies(service, tx) {
      const byName = new Map((await graph(service, tx)).map((s) => [s.metadata.name, s.spec.dependsOn ?? []]));
      return walk(service, (name) => byName.get(name) ?? []);
    },
    async dependents(service, tx) {
      const reverse = new Map<string, string[]>();
      for (const s of await graph(service, tx)) {
        for (const dep of s.spec.dependsOn ?? []) reverse.set(dep, [...(reverse.get(dep) ?? []), s.metadata.name]);
      }
      return walk(service, (name) => reverse.get(name) ?? []);
    },
  };
}
