// Creates the database, the owner role, one login role and one schema per service that keeps read
// models, and the auditor role. Services get DML on their own schema only — never DDL, never another's.
import { Client } from 'pg';
import { readFileSync } from 'node:fs';
import { pgPasswordFile } from '../paths';

export interface PgTarget {
  host: string;
  port: number;
  database: string;
}

/** role → schema it owns the data of. The ledger schema is special: INSERT + SELECT only (issue: ledger). */
export const SERVICE_SCHEMAS: Record<string, string> = {
  palisade_gateway: 'gateway',
  palisade_approvals: 'approvals',
  palisade_channels: 'channels',
  palisade_cron: 'cron',
  palisade_ledger: 'ledger',
};

const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe SQL identifier ${name}`);
  return `"${name}"`;
};
const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

export function pgPassword(role: string, home?: string): string {
  return readFileSync(pgPasswordFile(role, home), 'utf8').trim();
}

export async function superuserClient(target: PgTarget, database = target.database): Promise<Client> {
  const client = new Client({ host: target.host, port: target.port, user: 'postgres', password: pgPassword('postgres'), database });
  await client.connect();
  return client;
}

export async function setupDatabase(target: PgTarget): Promise<string[]> {
  const done: string[] = [];
  const admin = await superuserClient(target, 'postgres');
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [target.database]);
    if (!exists.rowCount) {
      await admin.query(`CREATE DATABASE ${ident(target.database)}`);
      done.push(`database ${target.database} created`);
    }
    const roles = ['palisade_owner', ...Object.keys(SERVICE_SCHEMAS), 'palisade_auditor'];
    for (const role of roles) {
      const found = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const login = role === 'palisade_owner' ? 'NOLOGIN' : `LOGIN PASSWORD ${literal(pgPassword(role))}`;
      await admin.query(`${found.rowCount ? 'ALTER' : 'CREATE'} ROLE ${ident(role)} ${login} NOSUPERUSER NOCREATEDB NOCREATEROLE`);
      if (!found.rowCount) done.push(`role ${role} created`);
    }
    await admin.query(`REVOKE ALL ON DATABASE ${ident(target.database)} FROM PUBLIC`);
    await admin.query(`GRANT CONNECT ON DATABASE ${ident(target.database)} TO ${roles.filter((r) => r !== 'palisade_owner').map(ident).join(', ')}`);
  } finally {
    await admin.end();
  }
  const db = await superuserClient(target);
  try {
    await db.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    for (const [role, schema] of Object.entries(SERVICE_SCHEMAS)) {
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)} AUTHORIZATION palisade_owner`);
      await db.query(`GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(role)}`);
      if (schema !== 'ledger') {
        await db.query(
          `ALTER DEFAULT PRIVILEGES FOR ROLE palisade_owner IN SCHEMA ${ident(schema)} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${ident(role)}`,
        );
        await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${ident(schema)} TO ${ident(role)}`);
        await db.query(`ALTER DEFAULT PRIVILEGES FOR ROLE palisade_owner IN SCHEMA ${ident(schema)} GRANT USAGE, SELECT ON SEQUENCES TO ${ident(role)}`);
      }
    }
    await db.query('GRANT USAGE ON SCHEMA ledger TO palisade_auditor');
    done.push('schemas and grants in place');
  } finally {
    await db.end();
  }
  return done;
}
