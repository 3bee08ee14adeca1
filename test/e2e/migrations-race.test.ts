import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../src/testing/server.js';

describe('concurrent first start', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    const [first, ...rest] = servers;
    for (const s of rest) await s.close(1000);
    await first?.destroy();
  });

  it('three replicas migrating one empty PostgreSQL schema at once all come up, with one admin token', async () => {
    const schema = `t_${process.pid}_race${Math.random().toString(36).slice(2, 8)}`;
    const started = await Promise.all(
      [0, 1, 2].map(() => startTestServer({ dialect: 'postgres', store: { dataDir: '', schema } }).catch((err: Error) => err)),
    );
    for (const s of started) {
      if (s instanceof Error) throw s;
      servers.push(s);
    }
    for (const s of servers) expect((await s.request('/readyz', { token: '' })).status).toBe(200);
    const tokens = (await (await servers[0].request('/api/v1/tokens')).json()) as { items: { name: string }[] };
    expect(tokens.items.filter((t) => t.name === 'admin')).toHaveLength(1);
  });
});
