import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectFiles } from './files.js';

let root: string;

function write(path: string, content = `# ${path}\n`): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), content);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'opsdeck-cli-files-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('collectFiles', () => {
  it('walks a directory recursively for .yaml/.yml/.json in sorted order, skipping hidden entries and other files', async () => {
    write('deploy/services/feed.yaml');
    write('deploy/b.yml');
    write('deploy/a.json');
    write('deploy/services/api.YAML');
    write('deploy/README.md');
    write('deploy/.hidden.yaml');
    write('deploy/.git/config.yaml');
    const files = await collectFiles(['deploy'], { cwd: root });
    expect(files.map((f) => f.name)).toEqual(['deploy/a.json', 'deploy/b.yml', 'deploy/services/api.YAML', 'deploy/services/feed.yaml']);
    expect(files[3].content).toBe('# deploy/services/feed.yaml\n');
  });

  it('names files as given (normalised), and makes absolute paths under cwd relative', async () => {
    write('deploy/feed.yaml');
    expect((await collectFiles(['./deploy/'], { cwd: root })).map((f) => f.name)).toEqual(['deploy/feed.yaml']);
    expect((await collectFiles([join(root, 'deploy')], { cwd: root })).map((f) => f.name)).toEqual(['deploy/feed.yaml']);
    expect((await collectFiles(['.'], { cwd: join(root, 'deploy') })).map((f) => f.name)).toEqual(['feed.yaml']);
    // Outside cwd, an absolute path stays absolute rather than becoming ../../…
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    const absolute = join(root, 'deploy', 'feed.yaml');
    expect((await collectFiles([absolute], { cwd: elsewhere })).map((f) => f.name)).toEqual([absolute]);
  });

  it('takes an explicitly named file whatever its extension, keeps -f order and sends each file once', async () => {
    write('z.txt', 'kind: Team\n');
    write('deploy/a.yaml');
    const files = await collectFiles(['z.txt', 'deploy', 'deploy/a.yaml', 'deploy'], { cwd: root });
    expect(files.map((f) => f.name)).toEqual(['z.txt', 'deploy/a.yaml']);
  });

  it('reads - from stdin', async () => {
    const files = await collectFiles(['-'], { cwd: root, stdin: Readable.from([Buffer.from('kind: '), Buffer.from('Team\n')]) });
    expect(files).toEqual([{ name: '<stdin>', content: 'kind: Team\n' }]);
  });

  it('fails plainly on a missing path or a directory without manifests', async () => {
    write('empty/notes.txt');
    await expect(collectFiles(['nope.yaml'], { cwd: root })).rejects.toThrow('nope.yaml: no such file or directory');
    await expect(collectFiles(['empty'], { cwd: root })).rejects.toThrow('empty: no .yaml, .yml or .json files in it');
  });
});
