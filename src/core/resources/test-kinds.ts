import { type Static, Type } from '@sinclair/typebox';
import type { Executor } from '../db/database.js';
import type { KindDefinition, StoredResource } from './resources.js';

/** Two small kinds that exercise every hook of the engine without depending on a domain module. */
export const GroupSpec = Type.Object({ size: Type.Integer({ minimum: 1, maximum: 5 }), description: Type.Optional(Type.String()) });
export type GroupSpec = Static<typeof GroupSpec>;

export const WidgetSpec = Type.Object({
  group: Type.String(),
  color: Type.Optional(Type.Union([Type.Literal('red'), Type.Literal('blue')])),
  // Deliberately not marked strict: the registry must make nested objects reject unknown fields.
  shape: Type.Optional(Type.Object({ sides: Type.Integer({ minimum: 3 }) })),
});
export type WidgetSpec = Static<typeof WidgetSpec>;

export const groupKind: KindDefinition<GroupSpec> = {
  kind: 'Group',
  module: 'test',
  description: 'a group',
  spec: GroupSpec,
};

export interface ApplyCall {
  name: string;
  generation: number;
  previous?: number;
}

export function widgetKind(calls: ApplyCall[] = []): KindDefinition<WidgetSpec> {
  return {
    kind: 'Widget',
    module: 'test',
    description: 'a widget in a group',
    spec: WidgetSpec,
    refs: (spec) => [{ kind: 'Group', name: spec.group, pointer: '/spec/group' }],
    normalize: (spec) => ({ ...spec, color: spec.color ?? 'red' }),
    service: (doc) => doc.metadata.name,
    validate: (doc) => (doc.metadata.name === 'reserved' ? [{ pointer: '/metadata/name', message: 'is reserved' }] : []),
    async onApply(_tx: Executor, doc: StoredResource<WidgetSpec>, previous: StoredResource<WidgetSpec> | undefined) {
      calls.push({ name: doc.metadata.name, generation: doc.generation, previous: previous?.generation });
    },
  };
}

export function doc(kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  return { apiVersion: 'opsdeck.dev/v1', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec };
}
