#!/usr/bin/env bash
# Installs the system packages gis-service needs, with apt, when they are missing.
# As root it installs them; as a user it uses `sudo -n` when that works without a
# password, and otherwise stops with one message naming the packages.
#
# usage: scripts/system-packages.sh [demo|test|bench]
set -euo pipefail
purpose="${1:-demo}"
missing=()

have_python311() {
  command -v python3.11 >/dev/null 2>&1 && python3.11 -c 'import ensurepip, venv' >/dev/null 2>&1
}

# The newest PostgreSQL server (15 or later) that Debian's layout holds, or nothing.
pg_major() {
  local dir best=""
  for dir in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$dir" ] || continue
    local v; v=$(basename "$(dirname "$(dirname "$dir")")")
    if [ "$v" -ge 15 ] && { [ -z "$best" ] || [ "$v" -gt "$best" ]; }; then best=$v; fi
  done
  echo "$best"
}

# The server version apt would install through the `postgresql` metapackage.
pg_candidate_major() {
  apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n1
}

if ! have_python311; then
  missing+=(python3.11 python3.11-venv)
fi

major=$(pg_major)
if [ -z "$major" ]; then
  missing+=(postgresql)
  cand=$(pg_candidate_major || true)
  missing+=("postgresql-${cand:-15}-postgis-3")
elif [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
  missing+=("postgresql-$major-postgis-3")
fi

# npm installs the maps' scripts and stylesheets (package-lock.json) for every job that serves them.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ "$purpose" = test ] || [ "$purpose" = bench ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  # The OGC API's and the tiles' real clients (tests/test_ogc_clients.py): GDAL's OAPIF and MVT
  # drivers, and QGIS headless through the system Python.
  command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
  /usr/bin/python3 -c 'import qgis.core' >/dev/null 2>&1 || missing+=(python3-qgis)
fi
if [ "$purpose" = bench ]; then
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  apt_get=(apt-get)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  apt_get=(sudo -n apt-get)
else
  echo "gis-service needs these Debian packages, which are missing: ${missing[*]}" >&2
  echo "Install them as root (apt-get install -y ${missing[*]}) and run this command again." >&2
  exit 1
fi

echo "Installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${apt_get[@]}" install -y -q --no-install-recommends "${missing[@]}" >&2; then
  # A fresh machine may have no package lists yet.
  "${apt_get[@]}" update -q >&2
  "${apt_get[@]}" install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# `postgresql` was installed without knowing its major version: add PostGIS for it.
major=$(pg_major)
if [ -n "$major" ] && [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
  "${apt_get[@]}" install -y -q --no-install-recommends "postgresql-$major-postgis-3" >&2
fi
