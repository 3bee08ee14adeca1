import { describe, expect, it } from 'vitest';
import type { Labels } from '../contracts.js';
import type { SampleBatch } from '../store/metric-store.js';
import { Scraper, type ScrapeTarget } from './scraper.js';

interface Written {
  labels: Labels;
  t: number;
  v: number;
  stale: boolean;
}

/** A scraper over a fake endpoint whose body the test sets; every write is recorded. */
function harness() {
  let now = 1_000_000;
  let body: string | Error = '';
  const writes: Written[][] = [];
  const scraper = new Scraper({
    now: () => now,
    async write(batch: SampleBatch, at: number) {
      writes.push(
        Array.from({ length: batch.length }, (_, i) => ({
          labels: batch.series[i]!.labels,
          t: Number.isNaN(batch.t[i]!) ? at : batch.t[i]!,
          v: batch.v[i]!,
          stale: batch.stale?.[i] === 1,
        })),
      );
    },
    fetchText: async () => {
      if (body instanceof Error) throw body;
      return { text: body, contentType: 'text/plain; version=0.0.4' };
    },
  });
  const target = (labels: Labels = { job: 'svc', instance: 'h:1' }): ScrapeTarget => ({
    key: 'svc/h:1',
    url: 'http://h:1/metrics',
    labels,
    intervalMs: 1000,
    timeoutMs: 1000,
  });
  return {
    writes,
    target,
    setBody: (b: string | Error) => {
      body = b;
    },
    /** One tick a second later; returns what it wrote. */
    async scrape(targets: ScrapeTarget[] = [target()]) {
      now += 1000;
      const before = writes.length;
      await scraper.tick(targets);
      return writes.slice(before).flat();
    },
  };
}

const names = (w: Written[]) => w.map((x) => `${x.labels.__name__}${x.labels.q ? `/${x.labels.q}` : ''}${x.stale ? ' stale' : ''}`);

describe('Scraper', () => {
  it('applies target labels, writes the scrape meta series and marks vanished series stale', async () => {
    const h = harness();
    h.setBody('jobs{q="a",instance="pod-1"} 1\njobs{q="b"} 5 123\n');
    const first = await h.scrape();
    expect(names(first)).toEqual(['jobs/a', 'jobs/b', 'up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
    expect(first[0]!.labels).toEqual({ __name__: 'jobs', q: 'a', job: 'svc', instance: 'h:1', exported_instance: 'pod-1' });
    expect(first[1]!.t).toBe(123);
    expect(first.find((w) => w.labels.__name__ === 'scrape_samples_scraped')?.v).toBe(2);
    expect(first.find((w) => w.labels.__name__ === 'up')?.v).toBe(1);

    // b vanishes; a comes back spelled differently (same series): only b gets a marker.
    h.setBody('jobs{instance="pod-1", q="a"} 2\n');
    const second = await h.scrape();
    expect(names(second)).toEqual(['jobs/a', 'up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'jobs/b stale']);
    const marker = second.at(-1)!;
    expect(marker.t).toBe(second[0]!.t);
    expect(marker.labels).toEqual({ __name__: 'jobs', q: 'b', job: 'svc', instance: 'h:1' });

    // A failing scrape: up is 0 and what the last scrape wrote is stale.
    h.setBody(new Error('connection refused'));
    const failed = await h.scrape();
    expect(names(failed)).toEqual(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'jobs/a stale']);
    expect(failed[0]!.v).toBe(0);

    // Back again: written anew, nothing stale; then the target goes away and everything it wrote is stale.
    h.setBody('jobs{q="a",instance="pod-1"} 3\n');
    expect(names(await h.scrape())).toEqual(['jobs/a', 'up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
    expect(names(await h.scrape([]))).toEqual([
      'up stale',
      'scrape_duration_seconds stale',
      'scrape_samples_scraped stale',
      'jobs/a stale',
    ]);
  });

  it('marks series stale when the target labels change, and not when a bad body fails the parse mid-way', async () => {
    const h = harness();
    h.setBody('jobs{q="a"} 1\n');
    await h.scrape();
    const relabelled = await h.scrape([h.target({ job: 'svc', instance: 'h:1', env: 'prod' })]);
    expect(names(relabelled)).toEqual([
      'jobs/a',
      'up',
      'scrape_duration_seconds',
      'scrape_samples_scraped',
      'up stale',
      'scrape_duration_seconds stale',
      'scrape_samples_scraped stale',
      'jobs/a stale',
    ]);
    expect(relabelled[0]!.labels.env).toBe('prod');
    expect(relabelled[7]!.labels).toEqual({ __name__: 'jobs', q: 'a', job: 'svc', instance: 'h:1' });

    // The parse fails after a new series was read: that series was never written, so no marker for it.
    h.setBody('jobs{q="a"} 2\njobs{q="new"} 1\nbroken{ 1\n');
    const failed = await h.scrape([h.target({ job: 'svc', instance: 'h:1', env: 'prod' })]);
    expect(names(failed)).toEqual(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'jobs/a stale']);
  });
});
