#!/usr/bin/env bash
# The README's test command: set up the machine if needed, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export COM_GEODATA_DIR="${COM_GEODATA_DIR:-$(cd .. && pwd)/shared/geodata}"
exec .venv/bin/python -m pytest "$@"
