import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../src/testing/server.js';
import { readSseUntil } from '../../src/testing/sse.js';

describe('replicas on one PostgreSQL', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    const first = servers.shift();
    for (const s of servers) await s.close(1000);
    await first?.destroy();
  });

  it('start together against one store and all become ready', async () => {
    const seed = await startTestServer({ dialect: 'postgres', role: 'api' });
    servers.push(seed);
    // Two more replicas start at once against the seed's store (an empty schema is migrations-race.test.ts).
    const [a, b] = await Promise.all([
      startTestServer({ dialect: 'postgres', store: seed.store }),
      startTestServer({ dialect: 'postgres', store: seed.store, role: 'api' }),
    ]);
    servers.push(a, b);
    for (const s of [seed, a, b]) expect(await (await s.request('/readyz', { token: '' })).json()).toEqual({ status: 'ready' });
  });

  it('fans events out to live streams on every replica', async () => {
    const [writer, , reader] = servers;
    const controller = new AbortController();
    const stream = await reader.request('/api/v1/events/stream?topics=resources.team.*', { signal: controller.signal });
    const res = await writer.request('/api/v1/resources/apply', {
      method: 'POST',
      json: { documents: [{ apiVersion: 'opsdeck.dev/v1', kind: 'Team', metadata: { name: 'fanout' }, spec: { members: [] } }] },
    });
    expect(res.status).toBe(200);
    const text = await readSseUntil(stream, 'Team/fanout', controller);
    expect(text).toContain('event: resources.team.applied');
  });
});
