#!/usr/bin/env bash
# `make airflow`: the Airflow UI (api-server, scheduler, dag-processor, triggerer) on the demo
# data, with embedded defaults. Run `make demo` first to have data to look at.
set -euo pipefail
: "${AIRFLOW_HOME:?source scripts/airflow_env.sh first}"
mkdir -p "$AIRFLOW_HOME"
# The simple auth manager writes the generated admin password here on first start.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
echo "Airflow UI: http://localhost:8080  (user admin; password in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated)"
exec airflow standalone
