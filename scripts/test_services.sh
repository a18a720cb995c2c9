#!/usr/bin/env bash
# What `make test` needs beyond .venv, set up on a bare Debian machine (as root there):
#
#   chromium     Debian's Chromium, which tests/test_deploy_live.py drives with playwright (never
#                playwright's own download): installed with apt-get when it is missing from
#                $OCOP_CHROMIUM (default /usr/bin/chromium; the test reads the same variable).
#   libreoffice  LibreOffice Calc (Debian's libreoffice-calc-nogui), which tests/test_report_writers.py
#                opens the reports with, as a province's office suite would: installed with apt-get
#                when $OCOP_SOFFICE (default /usr/bin/soffice) is missing.
#   postgresql   the PostgreSQL server the tests create their databases on (127.0.0.1:$OCOP_PG_PORT,
#                default 5432): the local cluster is started when it is down. Skipped when
#                OCOP_TEST_PG names another server.
#   redis        the Celery broker of tests/test_deploy_celery.py (127.0.0.1:$OCOP_REDIS_PORT, default
#                6379): Debian's redis-server installed when missing, started (no persistence) when down.
#
# Usage: scripts/test_services.sh [--dry-run] [chromium] [libreoffice] [postgresql] [redis]
#        (no name: all four)
# --dry-run prints what would be done and changes nothing.
set -euo pipefail

dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(chromium libreoffice postgresql redis)

run() {
  if [ "$dry" = 1 ]; then echo "would run: $*"; else echo "+ $*"; "$@"; fi
}

need_root() {
  if [ "$dry" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "test_services: $1 needs root (run as root, or do it yourself: $2)" >&2
    exit 1
  fi
}

chromium() {
  local path="${OCOP_CHROMIUM:-/usr/bin/chromium}"
  if [ -x "$path" ]; then
    echo "chromium: $path is there"
    return
  fi
  echo "chromium: $path is missing: installing Debian's chromium with apt-get"
  need_root "installing chromium" "apt-get install chromium, or set OCOP_CHROMIUM to a Chromium binary"
  run apt-get update -q
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  if [ "$dry" = 0 ] && [ ! -x "$path" ]; then
    echo "test_services: chromium installed, but not at $path: set OCOP_CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)" >&2
    exit 1
  fi
}

libreoffice() {
  local path="${OCOP_SOFFICE:-/usr/bin/soffice}"
  if [ -x "$path" ]; then
    echo "libreoffice: $path is there"
    return
  fi
  echo "libreoffice: $path is missing: installing Debian's libreoffice-calc-nogui with apt-get"
  need_root "installing LibreOffice" "apt-get install libreoffice-calc-nogui, or set OCOP_SOFFICE to a soffice binary"
  run apt-get update -q
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libreoffice-calc-nogui
  if [ "$dry" = 0 ] && [ ! -x "$path" ]; then
    echo "test_services: LibreOffice installed, but not at $path: set OCOP_SOFFICE=$(command -v soffice || echo /usr/bin/soffice)" >&2
    exit 1
  fi
}

postgresql() {
  local port="${OCOP_PG_PORT:-5432}"
  if [ -n "${OCOP_TEST_PG:-}" ]; then
    echo "postgresql: the tests use OCOP_TEST_PG; nothing started here"
    return
  fi
  if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
    echo "postgresql: up on 127.0.0.1:$port"
    return
  fi
  if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql)" ]; then
    echo "test_services: PostgreSQL is not installed (apt-get install postgresql, with trust authentication for" \
         "postgres on 127.0.0.1), or set OCOP_TEST_PG to a server's URL" >&2
    exit 1
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "postgresql: down on 127.0.0.1:$port: starting cluster $version/main"
  need_root "starting PostgreSQL" "pg_ctlcluster $version main start"
  run pg_ctlcluster --skip-systemctl-redirect "$version" main start
  if [ "$dry" = 1 ]; then
    echo "would wait for: pg_isready -h 127.0.0.1 -p $port"
    return
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p "$port" -q && { echo "postgresql: up on 127.0.0.1:$port"; return; }
    sleep 1
  done
  echo "test_services: PostgreSQL did not come up on 127.0.0.1:$port within 30 s" >&2
  exit 1
}

redis() {
  local port="${OCOP_REDIS_PORT:-6379}"
  if redis_up "$port"; then
    echo "redis: up on 127.0.0.1:$port"
    return
  fi
  if ! command -v redis-server >/dev/null; then
    echo "redis: redis-server is missing: installing Debian's redis-server with apt-get"
    need_root "installing redis-server" "apt-get install redis-server"
    run apt-get update -q
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server
  fi
  echo "redis: down on 127.0.0.1:$port: starting redis-server"
  # A broker for the tests only: loopback, nothing written to disk.
  run redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no
  if [ "$dry" = 1 ]; then
    echo "would wait for: redis on 127.0.0.1:$port"
    return
  fi
  for _ in $(seq 1 30); do
    redis_up "$port" && { echo "redis: up on 127.0.0.1:$port"; return; }
    sleep 1
  done
  echo "test_services: redis did not come up on 127.0.0.1:$port within 30 s" >&2
  exit 1
}

redis_up() {  # PING over bash's /dev/tcp: no redis-cli needed to tell
  local reply
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3>&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

for step in "${steps[@]}"; do
  case "$step" in
    chromium) chromium ;;
    libreoffice) libreoffice ;;
    postgresql) postgresql ;;
    redis) redis ;;
    *) echo "test_services: unknown step '$step' (chromium, libreoffice, postgresql, redis)" >&2; exit 2 ;;
  esac
done
