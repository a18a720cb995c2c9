-- Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d), as
-- the superuser of POSTGRES_USER, connected to POSTGRES_DB (the Airflow metadata database).
-- The OCOP national warehouse is a separate database on the same server; its tables are
-- created by the Alembic migrations that airflow-init runs (ocop.warehouse.upgrade).
CREATE DATABASE ocop_warehouse;
