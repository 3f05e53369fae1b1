#!/usr/bin/env bash
# Runs every Palisade test against real infrastructure. For a fresh machine, as root:
#   bash scripts/test.sh
# Installs what is missing (Debian packages, npm packages), builds, starts the private infrastructure
# (scripts/infra.sh up), builds the sandbox image, type-checks and lints, then runs the unit,
# integration and end-to-end suites. The last line is the total: "N passed, N failed".
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PALISADE_HOME="${PALISADE_HOME:-$REPO/.palisade}"
mkdir -p "$PALISADE_HOME/logs"

[ "$(id -u)" = 0 ] || { echo "test: run as root (the tests start nats-server, PostgreSQL and Docker): sudo bash scripts/test.sh" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test: npm install (from the committed lockfile)"
  npm install --no-audit --no-fund >"$PALISADE_HOME/logs/npm-install.log" 2>&1 || { tail -50 "$PALISADE_HOME/logs/npm-install.log"; exit 1; }
fi
npm run -s build
bash scripts/infra.sh up
if [ -x scripts/build-sandbox-image.sh ]; then bash scripts/build-sandbox-image.sh >/dev/null; fi

echo "test: typecheck"; npx tsc -p tsconfig.json --noEmit
echo "test: lint"; npx eslint --max-warnings 0 .

results="$PALISADE_HOME/jest-results.json"
rm -f "$results"
set +e
PALISADE_INFRA_READY=1 npx jest --ci --runInBand --json --outputFile="$results" "$@"
jest_rc=$?
set -e
[ -f "$results" ] || { echo "test: jest wrote no results (exit $jest_rc)"; echo "0 passed, 1 failed"; exit 1; }
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  const failedSuites = r.numFailedTestSuites + (r.numRuntimeErrorTestSuites || 0);
  if (skipped) console.log(`test: ${skipped} test(s) skipped or todo — not allowed`);
  if (r.numTotalTests === 0) console.log("test: no test ran");
  if (failedSuites) console.log(`test: ${failedSuites} suite(s) failed to run`);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites + skipped} failed`);
  process.exit(r.numFailedTests || skipped || failedSuites || r.numTotalTests === 0 ? 1 : 0);
' "$results" && [ "$jest_rc" = 0 ]
