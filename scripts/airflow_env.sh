# Environment for running the OCOP DAGs on this checkout with embedded defaults:
# Airflow metadata in SQLite under ./airflow_home, the warehouse in ./data/warehouse.db.
# Source it from the repository root:  . scripts/airflow_env.sh   (or set OCOP_ROOT first)
_here="${OCOP_ROOT:-$(pwd)}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_here/airflow_home}"
export AIRFLOW__CORE__DAGS_FOLDER="$_here/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$_here/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export GX_ANALYTICS_ENABLED=False
export OCOP_HOME="${OCOP_HOME:-$_here/data}"
export OCOP_INBOX="${OCOP_INBOX:-$OCOP_HOME/demo/inbox}"
export OCOP_SETTLE_SECONDS="${OCOP_SETTLE_SECONDS:-0}"
unset _here
