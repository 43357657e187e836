#!/usr/bin/env bash
# Installs what this project needs on a fresh machine of its kind (Debian 12, Node + npm, no Deno).
# Sourced by ./run and .ci/run. Deno comes from the npm registry into .tools/ (pinned below);
# Debian packages come from apt-get, only when running as root and only when missing.
set -euo pipefail

DENO_VERSION="2.9.6"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_bin_local="$repo_root/.tools/node_modules/.bin/deno"

ensure_deno() {
  if [ -x "$deno_bin_local" ] && "$deno_bin_local" --version 2>/dev/null | grep -q "deno $DENO_VERSION"; then
    DENO="$deno_bin_local"
  else
    echo "installing deno $DENO_VERSION from the npm registry into .tools/" >&2
    mkdir -p "$repo_root/.tools"
    npm install --prefix "$repo_root/.tools" --no-save --no-audit --no-fund --loglevel=error \
      "deno@$DENO_VERSION" >&2
    DENO="$deno_bin_local"
  fi
  export DENO
  export PATH="$repo_root/.tools/node_modules/.bin:$PATH"
}

BUN_VERSION="1.4.4"
bun_bin_local="$repo_root/.tools/node_modules/.bin/bun"

# ensure_bun installs Bun (an independent HTTP/2 and HTTP/3 client for the interop tests) from
# the npm registry into .tools/, next to Deno.
ensure_bun() {
  if [ -x "$bun_bin_local" ] && "$bun_bin_local" --version 2>/dev/null | grep -q "^$BUN_VERSION"; then
    return 0
  fi
  echo "installing bun $BUN_VERSION from the npm registry into .tools/" >&2
  mkdir -p "$repo_root/.tools"
  npm install --prefix "$repo_root/.tools" --no-save --no-audit --no-fund --loglevel=error \
    "deno@$DENO_VERSION" "bun@$BUN_VERSION" >&2
}

# ensure_apt PACKAGE... installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages (run as root to install them): ${missing[*]}" >&2
    return 0
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# Packages the test suite needs: C toolchain + sanitizers + valgrind for native/, capnp as the
# reference codec, openssl for development certificates, HTTP/3 peers, PostgreSQL, wrk.
TEST_APT_PACKAGES=(build-essential valgrind clang libclang-rt-14-dev capnproto openssl
  chromium ngtcp2-client postgresql wrk curl nghttp2-client)
# Packages the service needs at run time: a C compiler to build libpool.so, openssl for dev certs.
START_APT_PACKAGES=(build-essential openssl)

# ensure_postgres starts the Debian PostgreSQL cluster on loopback and creates the test role and
# database once. It does nothing when PostgreSQL is not installed or we are not root.
ensure_postgres() {
  command -v pg_ctlcluster >/dev/null 2>&1 || return 0
  [ "$(id -u)" -eq 0 ] || return 0
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  [ -n "$version" ] || return 0
  pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 50); do
    su postgres -c "psql -tAc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.2
  done
  su postgres -c "psql -tAc \"select 1 from pg_roles where rolname='worknode'\"" | grep -q 1 ||
    su postgres -c "psql -q -c \"CREATE ROLE worknode LOGIN PASSWORD 'worknode'\"" >/dev/null
  su postgres -c "psql -tAc \"select 1 from pg_database where datname='worknode'\"" | grep -q 1 ||
    su postgres -c "psql -q -c 'CREATE DATABASE worknode OWNER worknode'" >/dev/null
  export WORKNODE_TEST_PG_URL="${WORKNODE_TEST_PG_URL:-postgres://worknode:worknode@127.0.0.1:5432/worknode}"
}
