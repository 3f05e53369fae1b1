// Container health check of a Palisade service (HEALTHCHECK of the `service` image target).
// The service writes its health report to PALISADE_HEALTH_FILE every few seconds (libs/nats
// service-bootstrap). Healthy: the report is fresh (< 30 s) and the service's NATS connection is up.
// Exit 0 healthy, 1 unhealthy (Docker's convention); one line on stdout says why.
const { readFileSync, statSync } = require('node:fs');

const file = process.env.PALISADE_HEALTH_FILE || '/tmp/palisade-health.json';
try {
  const age = Date.now() - statSync(file).mtimeMs;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  if (age > 30_000) throw new Error(`health report is ${Math.round(age / 1000)} s old`);
  if (!report.checks || !report.checks.nats || !report.checks.nats.ok) throw new Error('NATS connection down');
  console.log(`${report.service}: ${report.status}`);
  process.exit(0);
} catch (error) {
  console.log(`unhealthy: ${error && error.message ? error.message : error}`);
  process.exit(1);
}
