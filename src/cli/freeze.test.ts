import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, runCli, serviceDoc, startDeliveryServer, TEAM } from '../modules/delivery/pipelines/delivery.test-support.js';
import type { TestServer } from '../testing/server.js';

const cli = runCli;
const NOWHERE = { OPSDECK_URL: 'http://127.0.0.1:9', OPSDECK_TOKEN: 't' };

describe('freeze commands', () => {
  it('refuses bad command lines with exit 2', async () => {
    expect((await cli(NOWHERE, 'freeze', 'add', 'feed')).code).toBe(2);
    expect(await cli(NOWHERE, 'freeze', 'add', '--reason', 'x')).toMatchObject({
      code: 2,
      stderr: 'name a service, or pass --all to freeze every service\n',
    });
    expect((await cli(NOWHERE, 'freeze', 'add', 'feed', '--all', '--reason', 'x')).code).toBe(2);
    expect((await cli(NOWHERE, 'freeze', 'list', '--at', 'friday')).code).toBe(2);
    expect((await cli(NOWHERE, 'freeze', 'lift')).code).toBe(2);
  });

  describe('against a server', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startDeliveryServer({ dialect: 'sqlite' });
      await apply(server, TEAM, serviceDoc('feed'), serviceDoc('search'), {
        apiVersion: 'opsdeck.dev/v1',
        kind: 'Freeze',
        metadata: { name: 'no-friday-deploys' },
        spec: {
          services: ['feed'],
          reason: 'no Friday-afternoon deploys',
          windows: [{ recurring: { days: ['fri'], from: '14:00', to: '23:59', timeZone: 'Europe/Dublin' } }],
        },
      });
    });
    afterAll(() => server?.destroy());

    it('adds, lists and lifts freezes', async () => {
      const added = await cli(server.env, 'freeze', 'add', 'feed', '--reason', 'SEV1 in progress', '--key', 'incident:INC-12');
      expect(added.stdout).toBe('froze feed as incident:INC-12; lift with: opsdeck freeze lift incident:INC-12\n');
      const all = await cli(server.env, 'freeze', 'add', '--all', '--reason', 'datacenter move');
      const key = /as (manual:\w+)/.exec(all.stdout)![1]!;

      const list = await cli(server.env, 'freeze', 'list');
      expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+SOURCE\s+SERVICES\s+SINCE\s+UNTIL\s+REASON$/);
      expect(list.stdout).toMatch(/incident:INC-12\s+api\s+feed\s+(now|\S+ ago)\s+lifted by hand\s+SEV1 in progress/);
      expect(list.stdout).toMatch(new RegExp(`${key}\\s+api\\s+\\*`));
      expect((await cli(server.env, 'freeze', 'list', '--service', 'search')).stdout).not.toContain('INC-12');

      // The Friday window, looked at on a Friday afternoon in Dublin.
      const friday = await cli(server.env, 'freeze', 'list', '--service', 'feed', '--at', '2030-07-05T15:00:00+01:00', '-o', 'json');
      expect(JSON.parse(friday.stdout)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'no-friday-deploys', source: 'resource', until: Date.parse('2030-07-05T23:00:00Z') }),
        ]),
      );

      expect((await cli(server.env, 'freeze', 'lift', 'incident:INC-12')).stdout).toBe('lifted incident:INC-12\n');
      expect((await cli(server.env, 'freeze', 'lift', key)).code).toBe(0);
      const none = await cli(server.env, 'freeze', 'list', '--service', 'search');
      expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'nothing freezes search\n' });
      const again = await cli(server.env, 'freeze', 'lift', 'incident:INC-12');
      expect(again).toMatchObject({ code: 1, stderr: "no API freeze 'incident:INC-12' is in force\n" });
    });
  });
});
