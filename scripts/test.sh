#!/usr/bin/env bash
# Runs the tests: bash scripts/test.sh [unit|integration|e2e|all|<paths under test/ or dist/test/>]
# (default all). Sets the machine up and builds first, then runs on Node >= 22 (scripts/node-env.sh);
# the runner (test/support/run-tests.ts) starts PostgreSQL and s3rver when the selection needs
# them and tears them down on any exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck source=scripts/node-env.sh
source scripts/node-env.sh
exec node dist/test/support/run-tests.js "$@"
