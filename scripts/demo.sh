#!/usr/bin/env bash
# The README's run command: set up the machine if needed, create the database, load the
# boundaries and the synthetic Surin demo, and serve the app on http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export COM_GEODATA_DIR="${COM_GEODATA_DIR:-$(cd .. && pwd)/shared/geodata}"
DB_NAME=$(.venv/bin/python -c "from sqlalchemy.engine import make_url; from com.config.settings import Settings; print(make_url(Settings().database_url).database)")
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB_NAME\""
fi
.venv/bin/com db upgrade
exec .venv/bin/com demo "$@"
