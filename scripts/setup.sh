#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine for COM: system packages, PostgreSQL running,
# a virtual environment with the locked Python dependencies, and the web assets.
# Called by scripts/demo.sh and scripts/test.sh; safe to run again (it skips what is done).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# --- system packages ---------------------------------------------------------------------
APT_PACKAGES=(postgresql-15-postgis-3 chromium chromium-driver fonts-thai-tlwg poppler-utils gdal-bin nodejs npm
  mosquitto  # mosquitto: issue 17's broker (alerts tests use 127.0.0.1:1883 and private ones)
  gcc)  # gcc: builds the geocoder's typing-slip alignment (com/text/typing_align.c, below)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  # node and npm may come from outside Debian on some images: only install what is absent.
  need=()
  for p in "${missing[@]}"; do
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 || need+=("$p") ;;
      npm) command -v npm >/dev/null 2>&1 || need+=("$p") ;;
      *) need+=("$p") ;;
    esac
  done
  if [ "${#need[@]}" -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

# --- PostgreSQL ----------------------------------------------------------------------------
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "setup: starting PostgreSQL"
  for v in $(ls /etc/postgresql); do
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "setup: PostgreSQL did not start" >&2; exit 1; }
fi

# --- Mosquitto (issue 17): the local broker detector alerts arrive on ----------------------
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "setup: starting mosquitto on 127.0.0.1:1883"
  mosquitto -d -p 1883 || { echo "setup: mosquitto did not start" >&2; exit 1; }
fi

# --- Python --------------------------------------------------------------------------------
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.com-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "setup: installing Python dependencies (constraints.txt)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
  touch "$stamp"
fi

# --- the compiled typing-slip alignment (issue 14: geocoding throughput) ------------------
# com/text/typing_align.c, loaded with ctypes; gcc from Debian (above), no Python package.
# Optional: without it the geocoder runs the same alignment in Python, slower.
if [ ! -f com/text/_typing_align.so ] || [ com/text/typing_align.c -nt com/text/_typing_align.so ]; then
  if command -v gcc >/dev/null 2>&1; then
    echo "setup: building the typing-slip alignment (com/text/_typing_align.so)"
    .venv/bin/python -c "from com.text.typos import build_typing_align; build_typing_align()" \
      || echo "setup: WARNING: could not build com/text/_typing_align.so (pure Python is used)" >&2
  else
    echo "setup: WARNING: no gcc: the geocoder's typing alignment runs in pure Python" >&2
  fi
fi

# --- web assets (Leaflet and plugins from npm, served by the app; never from a CDN) --------
if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "setup: installing web assets (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi
