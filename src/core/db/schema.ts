/**
 * The database schema as TypeScript sees it. Each module adds its own tables by declaration
 * merging in its `*.tables.ts` file:
 *
 *   declare module '../../core/db/schema.js' { interface Schema { incidents: IncidentsTable } }
 *
 * so stores are fully typed without a central registry file. A module's store touches only
 * the tables its own tables file declares.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface Schema {}
