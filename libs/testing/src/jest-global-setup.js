// Jest globalSetup for the `int` and `e2e` projects: the real nats-server, PostgreSQL and Docker engine
// come from scripts/infra.sh (idempotent — a no-op when already up). Never mocks.
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  const repo = join(__dirname, '..', '..', '..');
  if (process.getuid && process.getuid() !== 0) {
    throw new Error('integration tests need root: scripts/infra.sh installs and starts nats-server, PostgreSQL and dockerd');
  }
  if (!process.env.PALISADE_INFRA_READY) {
    execFileSync('bash', [join(repo, 'scripts', 'infra.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
    process.env.PALISADE_INFRA_READY = '1';
  }
  const home = process.env.PALISADE_HOME || join(repo, '.palisade');
  for (const line of readFileSync(join(home, 'infra.env'), 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match) process.env[match[1]] = match[2];
  }
};
