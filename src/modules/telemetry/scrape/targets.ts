import type { Core } from '../../../core/module.js';
import type { RuntimeApi, RuntimeSection } from '../../runtime/index.js';
import { SCRAPE_DEFAULTS, type ScrapeSection } from './scrape.schema.js';
import type { ScrapeTarget } from './scraper.js';

/** Instances worth scraping: running, whether or not currently passing health checks. */
const SCRAPED_STATES = new Set(['ready', 'unready', 'draining']);

/**
 * What to scrape now: every Service's `scrape.targets`, and the runtime instances of services
 * with a `runtime` section (unless `scrape.instances: false`), labelled `job` and `service` with
 * the service, `instance` with host:port and, for instances, `version`.
 */
export async function scrapeTargets(core: Core, runtime: RuntimeApi): Promise<ScrapeTarget[]> {
  const out: ScrapeTarget[] = [];
  const services = await core.resources.list<{ scrape?: ScrapeSection; runtime?: RuntimeSection }>('Service');
  for (const svc of services) {
    const scrape = svc.spec.scrape;
    if (!scrape && !svc.spec.runtime) continue;
    const path = scrape?.path ?? SCRAPE_DEFAULTS.path;
    const intervalMs = (scrape?.intervalSeconds ?? SCRAPE_DEFAULTS.intervalSeconds) * 1000;
    const timeoutMs = Math.min((scrape?.timeoutSeconds ?? SCRAPE_DEFAULTS.timeoutSeconds) * 1000, intervalMs);
    const base = { ...(scrape?.labels ?? {}), job: svc.metadata.name, service: svc.metadata.name };
    for (const target of scrape?.targets ?? []) {
      out.push({
        key: `${svc.metadata.name}/${target}`,
        url: `http://${target}${path}`,
        labels: { ...base, instance: target },
        intervalMs,
        timeoutMs,
      });
    }
    if (svc.spec.runtime && scrape?.instances !== false) {
      let instances: Awaited<ReturnType<RuntimeApi['instances']>>;
      try {
        instances = await runtime.instances(svc.metadata.name);
      } catch {
        continue; // not synced into the runtime yet
      }
      for (const i of instances) {
        if (!SCRAPED_STATES.has(i.state) || i.stale) continue;
        const instance = `127.0.0.1:${i.port}`;
        out.push({
          key: `${svc.metadata.name}/${i.id}`,
          url: `http://${instance}${path}`,
          labels: { ...base, instance, version: i.version },
          intervalMs,
          timeoutMs,
        });
      }
    }
  }
  return out;
}
