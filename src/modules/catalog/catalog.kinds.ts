import type { FieldIssue } from '../../core/errors.js';
import { FORMATS } from '../../core/resources/formats.js';
import type { KindDefinition, Lookup, ResourceDocument, Resources } from '../../core/resources/resources.js';
import { type ServiceSpec, ServiceSpec as ServiceSpecSchema, TeamSpec, UserSpec } from './catalog.schema.js';
import { DEFAULT_TIER, tierDefaults } from './tiers.js';

const NONE = '<none>';
const E164 = /^\+[1-9]\d{6,14}$/;

export const teamKind: KindDefinition<TeamSpec> = {
  kind: 'Team',
  module: 'catalog',
  description: 'A group of users that owns services and is paged for them.',
  spec: TeamSpec,
  refs: (spec) => spec.members.map((name, i) => ({ kind: 'User', name, pointer: `/spec/members/${i}` })),
  columns: [{ header: 'MEMBERS', value: (doc) => doc.spec.members.join(',') || NONE }],
};

export const userKind: KindDefinition<UserSpec> = {
  kind: 'User',
  module: 'catalog',
  description: 'A person: how to reach them and the time zone their schedules are read in.',
  spec: UserSpec,
  validate: (doc) => contactIssues(doc.spec),
  columns: [
    { header: 'EMAIL', value: (doc) => doc.spec.email },
    { header: 'TIMEZONE', value: (doc) => doc.spec.timeZone },
  ],
};

/** Each contact type needs its own kind of destination; names must be unique so rules can point at them. */
function contactIssues(spec: UserSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  (spec.contacts ?? []).forEach((contact, i) => {
    const at = `/spec/contacts/${i}`;
    if (seen.has(contact.name)) issues.push({ pointer: `${at}/name`, message: `duplicate contact name '${contact.name}'` });
    seen.add(contact.name);
    const wantsUrl = contact.type === 'webhook' || contact.type === 'slack';
    if (wantsUrl) {
      if (!contact.url) issues.push({ pointer: `${at}/url`, message: `a ${contact.type} contact needs 'url'` });
      if (contact.address) issues.push({ pointer: `${at}/address`, message: `a ${contact.type} contact takes 'url', not 'address'` });
      return;
    }
    if (contact.url) issues.push({ pointer: `${at}/url`, message: `an ${contact.type} contact takes 'address', not 'url'` });
    if (!contact.address) {
      issues.push({ pointer: `${at}/address`, message: `an ${contact.type} contact needs 'address'` });
    } else if (contact.type === 'email' && !FORMATS.email!.check(contact.address)) {
      issues.push({ pointer: `${at}/address`, message: FORMATS.email!.message });
    } else if (contact.type === 'sms' && !E164.test(contact.address)) {
      issues.push({ pointer: `${at}/address`, message: "must be a phone number in E.164 form such as '+4915112345678'" });
    }
  });
  return issues;
}

export const serviceKind: KindDefinition<ServiceSpec> = {
  kind: 'Service',
  module: 'catalog',
  description: 'Something that runs in production: its owner, tier (RTO/RPO) and dependencies.',
  spec: ServiceSpecSchema,
  refs: (spec) => [
    { kind: 'Team', name: spec.owner, pointer: '/spec/owner' },
    ...(spec.dependsOn ?? []).map((name, i) => ({ kind: 'Service', name, pointer: `/spec/dependsOn/${i}` })),
  ],
  normalize(spec) {
    const tier = spec.tier ?? DEFAULT_TIER;
    const defaults = tierDefaults(tier);
    return { ...spec, tier, rto: spec.rto ?? defaults.rto, rpo: spec.rpo ?? defaults.rpo };
  },
  validate: serviceIssues,
  service: (doc) => doc.metadata.name,
  columns: [
    { header: 'OWNER', value: (doc) => doc.spec.owner },
    { header: 'TIER', value: (doc) => String(doc.spec.tier ?? DEFAULT_TIER) },
    { header: 'DEPENDS-ON', value: (doc) => (doc.spec.dependsOn ?? []).join(',') || NONE },
  ],
};

async function serviceIssues(doc: ResourceDocument<ServiceSpec>, lookup: Lookup): Promise<FieldIssue[]> {
  const name = doc.metadata.name;
  const issues: FieldIssue[] = [];
  const deps = doc.spec.dependsOn ?? [];
  for (const [i, dep] of deps.entries()) {
    if (dep === name) {
      issues.push({ pointer: `/spec/dependsOn/${i}`, message: 'a service cannot depend on itself' });
      continue;
    }
    const cycle = await cycleThrough(name, dep, lookup);
    if (cycle) issues.push({ pointer: `/spec/dependsOn/${i}`, message: `dependency cycle: ${cycle.join(' -> ')}` });
  }
  return issues;
}

/**
 * The path back to `start` through `first`, if any, over the catalog as it will be after the
 * batch. Cycles not passing through `start` are left to the documents on them to report.
 */
async function cycleThrough(start: string, first: string, lookup: Lookup): Promise<string[] | undefined> {
  const visited = new Set<string>();
  const visit = async (name: string, path: string[]): Promise<string[] | undefined> => {
    if (name === start) return [...path, name];
    if (visited.has(name)) return undefined;
    visited.add(name);
    const doc = await lookup('Service', name);
    const next = Array.isArray(doc?.spec.dependsOn) ? (doc.spec.dependsOn as string[]) : [];
    for (const dep of next) {
      const found = await visit(dep, [...path, name]);
      if (found) return found;
    }
    return undefined;
  };
  return visit(first, [start]);
}

/** Registers Team, User and Service with the resource engine. */
export function registerCatalogKinds(resources: Resources): void {
  resources.register(userKind);
  resources.register(teamKind);
  resources.register(serviceKind);
}
