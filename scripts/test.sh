#!/usr/bin/env bash
# Runs the tests: bash scripts/test.sh [unit|integration|e2e|all|<paths under test/ or dist/test/>]
# (default all). Sets the machine up and builds first; the runner (test/support/run-tests.ts)
# starts PostgreSQL and s3rver when the selection needs them and tears them down on any exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec node dist/test/support/run-tests.js "$@"
