# COM web app and API (FastAPI + uvicorn). Built by `docker compose build`; the database is the
# official PostGIS image and the boundary files are mounted at run time, never baked in.

# --- web assets: Leaflet and its plugins from npm, served by the app (never from a CDN) ---------
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# --- the app ------------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Thai glyphs for the charts (com.siting.output looks for Loma, Garuda, ... from TLWG); without
# a Thai font matplotlib cannot draw Thai and the labels fall back to English.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-thai-tlwg \
    && rm -rf /var/lib/apt/lists/*

# The same package and the same pinned versions as CI (scripts/setup.sh): `pip install -c
# constraints.txt`. The wheels of shapely, pyproj, pyogrio and psycopg carry GEOS, PROJ, GDAL
# and libpq, so no system libraries are needed.
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY com ./com
COPY api ./api
COPY geodata ./geodata
RUN pip install -c constraints.txt .
# The geocoder's typing-slip alignment in C (com/text/typing_align.c, loaded with ctypes), built
# beside the installed module as scripts/setup.sh does in a checkout; the compiler is removed
# again. Without it the same alignment runs in pure Python, slower.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && python -c "from com.text.typos import build_typing_align; build_typing_align()" \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

# Run from an empty directory, so the installed package (not /src) is what gets imported.
WORKDIR /app
# com.maps.assets serves Leaflet from `node_modules` beside the package (the repository root
# in a checkout); point that place at the copy built above.
COPY --from=assets /src/node_modules /opt/com/node_modules
RUN ln -s /opt/com/node_modules "$(python -c 'import com.maps.assets as a; print(a.NODE_MODULES)')" \
    && useradd --system --uid 10001 --home-dir /app com \
    && chown com /app
USER com

ENV COM_GEODATA_DIR=/geodata
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4).status != 200)"]
CMD ["uvicorn", "api.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
