#!/usr/bin/env bash
# `make airflow`: the Airflow UI (api-server, scheduler, dag-processor, triggerer: `airflow
# standalone`) on the demo data, with embedded defaults. Run `make demo` first to have data.
#
# Prints the URL and where the admin password is (the simple auth manager generates it on the
# first start and keeps it in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated).
# AIRFLOW__API__PORT chooses another port than 8080. Stop with Ctrl-C.
set -euo pipefail
: "${AIRFLOW_HOME:?source scripts/airflow_env.sh first}"
mkdir -p "$AIRFLOW_HOME"

port="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__PORT="$port"
# Tasks report to the API server's execution API: it must be this port, not the default 8080.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://localhost:$port/execution/}"
# One user, admin role; its password is generated once and kept in the file below.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
passwords="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}"
user="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS%%:*}"

if [ -n "${OCOP_HOME:-}" ] && [ ! -e "$OCOP_HOME/warehouse.db" ] && [ -z "${OCOP_WAREHOUSE_URL:-}" ]; then
  echo "note: no warehouse at $OCOP_HOME/warehouse.db yet: run \`make demo\` first to have data to look at" >&2
fi

cat <<MSG
Airflow UI:      http://localhost:$port   (OCOP status page: http://localhost:$port/ocop/)
User:            $user
Password:        in $passwords
                 (generated on the first start; printed below once the server has written it)
MSG

# Print the password as soon as the auth manager has written the file (the server's own output
# scrolls away quickly).
(
  for _ in $(seq 1 120); do
    if [ -s "$passwords" ]; then
      pw="$(python -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$passwords" "$user" 2>/dev/null || true)"
      [ -n "$pw" ] && echo "==> Airflow UI http://localhost:$port  user: $user  password: $pw  (from $passwords)"
      break
    fi
    sleep 1
  done
) &

exec airflow standalone
