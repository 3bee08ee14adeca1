import type { Command } from 'commander';
import type { ResourceVersion, StoredResource } from '../core/resources/resources.js';
import { labelArg, outputOption } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';
import type { ApiClient } from './client.js';
import type { Cli } from './context.js';
import { cell, formatAge, formatData, type OutputFormat, render } from './output.js';

export interface KindInfo {
  kind: string;
  module: string;
  description: string;
  columns: string[];
}

type ListedResource = StoredResource & { summary: string[] };

interface ResourceList {
  kind: string;
  columns: string[];
  items: ListedResource[];
}

function plural(word: string): string {
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  return `${word}s`;
}

/** `Service`, `service`, `services` all name the Service kind, as in kubectl. */
export function resolveKind(input: string, kinds: KindInfo[]): KindInfo | undefined {
  const want = input.toLowerCase();
  return kinds.find((k) => {
    const name = k.kind.toLowerCase();
    return want === name || want === plural(name);
  });
}

/** `get service feed` and `get service/feed` are the same request. */
function splitRef(kind: string, name: string | undefined): { kind: string; name: string | undefined } {
  if (name === undefined && kind.includes('/')) {
    const [k, ...rest] = kind.split('/');
    return { kind: k, name: rest.join('/') || undefined };
  }
  return { kind, name };
}

async function lookupKind(client: ApiClient, input: string): Promise<KindInfo> {
  const { items } = await client.get<{ items: KindInfo[] }>('/api/v1/resources/kinds');
  const found = resolveKind(input, items);
  if (found) return found;
  const known = items.map((k) => k.kind).sort();
  throw new CliError(
    `unknown kind "${input}"${known.length ? ` (known kinds: ${known.join(', ')})` : ' (the server has no resource kinds)'}`,
  );
}

const resourcePath = (kind: string, name?: string) =>
  `/api/v1/resources/${encodeURIComponent(kind)}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

const withoutSummary = ({ summary: _summary, ...resource }: ListedResource): StoredResource => resource;

function resourceTable(list: ResourceList, now: number) {
  return {
    headers: ['NAME', ...list.columns.map((c) => c.toUpperCase()), 'AGE'],
    rows: (items: ListedResource[]) =>
      items.map((r) => [r.metadata.name, ...list.columns.map((_, i) => cell(r.summary[i])), formatAge(r.createdAt, now)]),
  };
}

/** `opsdeck get|delete|history|kinds`: reading and removing declarative resources. */
export function registerResourceCommands(program: Command, cli: Cli): void {
  program
    .command('get')
    .description('list resources of a kind, or show one')
    .argument('<kind>', 'resource kind, any case, singular or plural (service, services, Service) or kind/name')
    .argument('[name]', 'one resource by name')
    .option('-l, --selector <key=value>', 'only resources with this label (repeatable, or comma-separated)', labelArg)
    .addOption(outputOption())
    .action(async (kindArg: string, nameArg: string | undefined, opts: { selector?: string[]; output: OutputFormat }, command: Command) => {
      const client = cli.client(command);
      const { kind: kindInput, name } = splitRef(kindArg, nameArg);
      const kind = await lookupKind(client, kindInput);
      const now = cli.now();
      if (name !== undefined && opts.output !== 'table') {
        cli.out(formatData(opts.output, await client.get<StoredResource>(resourcePath(kind.kind, name))));
        return;
      }
      const list = await client.get<ResourceList>(resourcePath(kind.kind), { label: opts.selector });
      if (name !== undefined) {
        const item = list.items.find((r) => r.metadata.name === name);
        // Not in the list: let the server say why (a 404 with its message).
        if (!item) await client.get<StoredResource>(resourcePath(kind.kind, name));
        const table = resourceTable(list, now);
        cli.print(render('table', item ? [item] : [], { ...table, empty: `${kind.kind.toLowerCase()}/${name} not found` }));
        return;
      }
      if (opts.output !== 'table') {
        cli.out(formatData(opts.output, list.items.map(withoutSummary)));
        return;
      }
      const selector = opts.selector?.length ? ` with labels ${opts.selector.join(',')}` : '';
      cli.print(
        render('table', list.items, { ...resourceTable(list, now), empty: `no ${plural(kind.kind.toLowerCase())} found${selector}` }),
      );
    });

  program
    .command('delete')
    .description('delete a resource (refused while other resources refer to it)')
    .argument('<kind>', 'resource kind (service, services, Service) or kind/name')
    .argument('[name]', 'resource name')
    .action(async (kindArg: string, nameArg: string | undefined, _opts: unknown, command: Command) => {
      const { kind: kindInput, name } = splitRef(kindArg, nameArg);
      if (name === undefined) throw new CliError('delete needs a resource name: opsdeck delete KIND NAME', EXIT_USAGE);
      const client = cli.client(command);
      const kind = await lookupKind(client, kindInput);
      const { deleted } = await client.delete<{ deleted: StoredResource }>(resourcePath(kind.kind, name));
      cli.out(`${deleted.kind.toLowerCase()}/${deleted.metadata.name} deleted`);
    });

  program
    .command('history')
    .description('list the recorded versions of a resource')
    .argument('<kind>', 'resource kind (service, services, Service) or kind/name')
    .argument('[name]', 'resource name')
    .addOption(outputOption())
    .action(async (kindArg: string, nameArg: string | undefined, opts: { output: OutputFormat }, command: Command) => {
      const { kind: kindInput, name } = splitRef(kindArg, nameArg);
      if (name === undefined) throw new CliError('history needs a resource name: opsdeck history KIND NAME', EXIT_USAGE);
      const client = cli.client(command);
      const kind = await lookupKind(client, kindInput);
      const { items } = await client.get<{ items: ResourceVersion[] }>(`${resourcePath(kind.kind, name)}/history`);
      const now = cli.now();
      cli.print(
        render(opts.output, items, {
          headers: ['GENERATION', 'ACTION', 'BY', 'AGE'],
          rows: (versions) => versions.map((v) => [String(v.generation), v.action, v.appliedBy, formatAge(v.appliedAt, now)]),
          empty: `no history for ${kind.kind.toLowerCase()}/${name}`,
        }),
      );
    });

  program
    .command('kinds')
    .description('list the resource kinds this server knows')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, command: Command) => {
      const { items } = await cli.client(command).get<{ items: KindInfo[] }>('/api/v1/resources/kinds');
      cli.print(
        render(opts.output, items, {
          headers: ['KIND', 'MODULE', 'DESCRIPTION'],
          rows: (kinds) => kinds.map((k) => [k.kind, k.module, cell(k.description, 80)]),
          empty: 'no resource kinds registered',
        }),
      );
    });
}
