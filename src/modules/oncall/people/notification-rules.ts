import { type Static, Type } from '@sinclair/typebox';
import type { FieldIssue } from '../../../core/errors.js';
import { parseDuration } from '../../../core/resources/formats.js';
import { NAME_PATTERN } from '../../../core/resources/kinds.js';
import type { ResourceDocument, Resources } from '../../../core/resources/resources.js';
import type { Contact, UserSpec } from '../../catalog/index.js';

/**
 * A personal rule: once paged, reach me on `contact` after `after` unless I have acknowledged.
 * `urgency` limits a rule to high- or low-urgency pages (default: both).
 */
export const NotificationRule = Type.Object(
  {
    contact: Type.String({ pattern: NAME_PATTERN, maxLength: 63, errorMessage: "must name one of the user's contacts" }),
    after: Type.String({ format: 'duration' }),
    urgency: Type.Optional(Type.Union([Type.Literal('high'), Type.Literal('low')])),
  },
  { additionalProperties: false },
);
export type NotificationRule = Static<typeof NotificationRule>;
export const NotificationRules = Type.Array(NotificationRule, { maxItems: 20 });

export type UserWithRules = UserSpec & { notificationRules?: NotificationRule[] };

/** Adds `notificationRules` to User; each rule must name one of the user's contacts. */
export function registerNotificationRules(resources: Resources): void {
  resources.extend('User', 'notificationRules', NotificationRules, 'oncall', {
    validate(doc: ResourceDocument) {
      const spec = doc.spec as UserWithRules;
      const names = new Set((spec.contacts ?? []).map((c) => c.name));
      const issues: FieldIssue[] = [];
      (spec.notificationRules ?? []).forEach((rule, i) => {
        if (!names.has(rule.contact)) {
          issues.push({
            pointer: `/spec/notificationRules/${i}/contact`,
            message: `'${rule.contact}' is not one of this user's contacts (${[...names].join(', ') || 'none'})`,
          });
        }
      });
      return issues;
    },
  });
}

/** One personal step: when (ms after being paged) to use which contacts, first choice first. */
export interface PersonalStep {
  index: number;
  afterMs: number;
  /** The rule's contact, then the user's other contacts as fallbacks in their order. */
  chain: Contact[];
}

/**
 * What to send a paged user and when. Without rules: every contact at once is noisy, so the first
 * contact now with the others as its fallbacks. Low urgency notifies once: only the first step.
 */
export function personalSteps(user: UserWithRules, urgency: 'high' | 'low'): PersonalStep[] {
  const contacts = user.contacts ?? [];
  if (contacts.length === 0) return [];
  const chainFrom = (first: Contact) => [first, ...contacts.filter((c) => c.name !== first.name)];
  const rules = (user.notificationRules ?? [])
    .map((rule, index) => ({ rule, index }))
    .filter(({ rule }) => !rule.urgency || rule.urgency === urgency);
  const steps: PersonalStep[] =
    rules.length === 0
      ? [{ index: 0, afterMs: 0, chain: chainFrom(contacts[0]!) }]
      : rules.flatMap(({ rule, index }) => {
          const contact = contacts.find((c) => c.name === rule.contact);
          return contact ? [{ index, afterMs: parseDuration(rule.after) ?? 0, chain: chainFrom(contact) }] : [];
        });
  steps.sort((a, b) => a.afterMs - b.afterMs || a.index - b.index);
  return urgency === 'low' ? steps.slice(0, 1) : steps;
}
