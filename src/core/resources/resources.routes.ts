import { Type } from '@sinclair/typebox';
import { badRequest, notFound } from '../errors.js';
import type { Core, RouteDefinition } from '../module.js';
import type { ApplyInput, KindDefinition } from './resources.js';

const ApplyBody = Type.Object(
  {
    files: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ maxLength: 1024 }), content: Type.String() }, { additionalProperties: false })),
    ),
    documents: Type.Optional(Type.Array(Type.Unknown())),
  },
  { additionalProperties: false },
);

/** `Service`, `service` and `services` all name the Service kind, as kubectl allows. */
export function resolveKind(core: Core, given: string): KindDefinition {
  const kinds = core.resources.kinds();
  const g = given.toLowerCase();
  const found = kinds.find((k) => {
    const n = k.kind.toLowerCase();
    return n === g || `${n}s` === g || (n.endsWith('y') && `${n.slice(0, -1)}ies` === g);
  });
  if (!found) throw badRequest(`unknown kind '${given}'`, { knownKinds: kinds.map((k) => k.kind) });
  return found;
}

/** A raw YAML body is one file; JSON bodies use `{ files }` or `{ documents }`. */
function applyInput(body: unknown): ApplyInput {
  if (typeof body === 'string') return { files: [{ name: 'request-body', content: body }] };
  const input = body as ApplyInput;
  if (!input.files?.length && !input.documents?.length)
    throw badRequest('nothing to apply: give files or documents', { pointer: '/files' });
  return input;
}

export function resourcesRoutes(core: Core): RouteDefinition[] {
  const kindAge = (k: KindDefinition) => ({
    kind: k.kind,
    module: k.module,
    description: k.description,
    columns: (k.columns ?? []).map((c) => c.header),
  });
  return [
    {
      method: 'GET',
      url: '/api/v1/resources/kinds',
      access: 'viewer',
      operationId: 'listKinds',
      summary: 'Registered resource kinds',
      tags: ['resources'],
      handler: async () => ({ items: core.resources.kinds().map(kindAge) }),
    },
    {
      method: 'POST',
      url: '/api/v1/resources/apply',
      access: 'deployer',
      operationId: 'applyResources',
      summary: 'Apply a batch of documents atomically (JSON {files|documents} or a raw YAML body)',
      tags: ['resources'],
      schema: { body: Type.Union([ApplyBody, Type.String()]) },
      handler: async (req) => ({ results: await core.resources.apply(applyInput(req.body), req.actor) }),
    },
    {
      method: 'POST',
      url: '/api/v1/resources/diff',
      access: 'viewer',
      operationId: 'diffResources',
      summary: 'What apply would change, as unified diffs',
      tags: ['resources'],
      schema: { body: Type.Union([ApplyBody, Type.String()]) },
      handler: async (req) => ({ results: await core.resources.diff(applyInput(req.body)) }),
    },
    {
      method: 'GET',
      url: '/api/v1/resources/:kind',
      access: 'viewer',
      operationId: 'listResources',
      summary: 'Resources of one kind; `label=k=v` filters (repeatable)',
      tags: ['resources'],
      schema: {
        params: Type.Object({ kind: Type.String() }),
        querystring: Type.Object({ label: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: false }),
      },
      handler: async (req) => {
        const def = resolveKind(core, (req.params as { kind: string }).kind);
        const labels: Record<string, string> = {};
        for (const l of (req.query as { label?: string[] }).label ?? []) {
          const i = l.indexOf('=');
          if (i <= 0) throw badRequest(`label filter '${l}' must be key=value`, { pointer: '/label' });
          labels[l.slice(0, i)] = l.slice(i + 1);
        }
        const items = await core.resources.list(def.kind, { labels });
        const columns = def.columns ?? [];
        return {
          kind: def.kind,
          columns: columns.map((c) => c.header),
          items: items.map((item) => ({ ...item, summary: columns.map((c) => c.value(item)) })),
        };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/resources/:kind/:name',
      access: 'viewer',
      operationId: 'getResource',
      summary: 'One resource',
      tags: ['resources'],
      schema: { params: Type.Object({ kind: Type.String(), name: Type.String() }) },
      handler: async (req) => {
        const p = req.params as { kind: string; name: string };
        const def = resolveKind(core, p.kind);
        const found = await core.resources.get(def.kind, p.name);
        if (!found) throw notFound(`${def.kind} '${p.name}' does not exist`);
        return found;
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/resources/:kind/:name',
      access: 'deployer',
      operationId: 'deleteResource',
      summary: 'Delete a resource (refused while others reference it)',
      tags: ['resources'],
      schema: { params: Type.Object({ kind: Type.String(), name: Type.String() }) },
      handler: async (req) => {
        const p = req.params as { kind: string; name: string };
        return { deleted: await core.resources.delete(resolveKind(core, p.kind).kind, p.name, req.actor) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/resources/:kind/:name/history',
      access: 'viewer',
      operationId: 'resourceHistory',
      summary: 'Every kept version of a resource, newest first',
      tags: ['resources'],
      schema: { params: Type.Object({ kind: Type.String(), name: Type.String() }) },
      handler: async (req) => {
        const p = req.params as { kind: string; name: string };
        const def = resolveKind(core, p.kind);
        const items = await core.resources.history(def.kind, p.name);
        if (!items.length) throw notFound(`${def.kind} '${p.name}' has no history`);
        return { items };
      },
    },
  ];
}
