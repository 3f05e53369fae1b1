import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest ancestor holding nest-cli.json (works from src and from dist). */
export function repoRoot(): string {
  let dir = __dirname;
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'nest-cli.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Where generated secrets, data and logs live; git-ignored. */
export function palisadeHome(): string {
  return resolve(process.env.PALISADE_HOME || join(repoRoot(), '.palisade'));
}

export const secretsDir = (home = palisadeHome()): string => join(home, 'secrets');
export const natsSeedFile = (user: string, home = palisadeHome()): string => join(secretsDir(home), 'nats', `${user}.nk`);
export const pgPasswordFile = (role: string, home = palisadeHome()): string => join(secretsDir(home), 'pg', `${role}.pw`);
export const keyFile = (name: string, home = palisadeHome()): string => join(secretsDir(home), 'keys', `${name}.pem`);
export const publicKeyFile = (name: string, home = palisadeHome()): string => join(secretsDir(home), 'keys', `${name}.pub.pem`);
