import {
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type Kysely,
  PostgresDialect,
  type SchemaMetadata,
  sql,
  type TableMetadata,
} from 'kysely';

/**
 * Kysely's PostgreSQL introspector reads every schema in the database. Its migrator uses it to
 * find its own tables, so a schema dropped concurrently by someone else (parallel test workers,
 * another tenant) fails our migration with 3F000. This one looks only at the schemas on our
 * search_path.
 */
class SearchPathIntrospector implements DatabaseIntrospector {
  // biome-ignore lint/suspicious/noExplicitAny: introspection is schema-agnostic
  constructor(private readonly db: Kysely<any>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const rows = await sql<{
      name: string;
    }>`select nspname as name from pg_catalog.pg_namespace where nspname = any(current_schemas(false))`.execute(this.db);
    return rows.rows.map((r) => ({ name: r.name }));
  }

  async getTables(): Promise<TableMetadata[]> {
    const rows = await sql<{
      schema: string;
      table: string;
      type: string;
      column: string | null;
      data_type: string | null;
      nullable: string | null;
      default: string | null;
    }>`
      select t.table_schema as schema, t.table_name as table, t.table_type as type,
             c.column_name as column, c.data_type, c.is_nullable as nullable, c.column_default as default
      from information_schema.tables t
      left join information_schema.columns c on c.table_schema = t.table_schema and c.table_name = t.table_name
      where t.table_schema = any(current_schemas(false))
      order by t.table_schema, t.table_name, c.ordinal_position`.execute(this.db);
    const tables = new Map<string, TableMetadata>();
    for (const r of rows.rows) {
      const key = `${r.schema}.${r.table}`;
      let table = tables.get(key);
      if (!table) {
        table = { name: r.table, schema: r.schema, isView: r.type === 'VIEW', columns: [] };
        tables.set(key, table);
      }
      if (r.column) {
        table.columns.push({
          name: r.column,
          dataType: r.data_type ?? '',
          isNullable: r.nullable === 'YES',
          isAutoIncrementing: /^nextval\(/.test(r.default ?? '') || false,
          hasDefaultValue: r.default !== null,
        });
      }
    }
    return [...tables.values()];
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

/** PostgresDialect whose introspection stays inside our search_path. */
export class ScopedPostgresDialect extends PostgresDialect {
  // biome-ignore lint/suspicious/noExplicitAny: matches Kysely's signature
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SearchPathIntrospector(db);
  }
}
