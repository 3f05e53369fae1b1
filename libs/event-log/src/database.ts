// TypeORM data sources. Services connect with their own role (DML on their schema only); migrations
// run from setup as the superuser under `SET ROLE palisade_owner`, so the owner — not the service —
// owns every table. `synchronize` is never used.
import { DataSource, MigrationInterface } from 'typeorm';
import { type DatabaseConfig, readSecretFile } from '@palisade/config';

export interface PgConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export function createDataSource(
  connection: PgConnection,
  schema: string,
  entities: (new () => unknown)[] = [],
): DataSource {
  return new DataSource({
    type: 'postgres',
    host: connection.host,
    port: connection.port,
    database: connection.database,
    username: connection.user,
    password: connection.password,
    schema,
    entities,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: 5, connectionTimeoutMillis: 5_000 },
  });
}

/** A service's data source: its own role (password from its secret file) on its own schema. */
export function serviceDataSource(config: DatabaseConfig, schema: string): DataSource {
  return createDataSource(
    {
      host: config.PALISADE_PG_HOST,
      port: config.PALISADE_PG_PORT,
      database: config.PALISADE_PG_DATABASE,
      user: config.PALISADE_PG_USER,
      password: readSecretFile(config.PALISADE_PG_PASSWORD_FILE, 'PALISADE_PG_PASSWORD_FILE'),
    },
    schema,
  );
}

/** Applies a service's migrations into its schema as palisade_owner. Idempotent. */
export async function runSchemaMigrations(
  superuser: Omit<PgConnection, 'user'> & { user?: string },
  schema: string,
  migrations: (new () => MigrationInterface)[],
): Promise<string[]> {
  const ds = new DataSource({
    type: 'postgres',
    host: superuser.host,
    port: superuser.port,
    database: superuser.database,
    username: superuser.user ?? 'postgres',
    password: superuser.password,
    schema,
    migrations,
    migrationsTableName: `${schema}_migrations`,
    synchronize: false,
    logging: false,
    extra: { max: 1, options: `-c role=palisade_owner -c search_path=${schema}` },
  });
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
