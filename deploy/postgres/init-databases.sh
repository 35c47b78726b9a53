#!/bin/sh
# Run by the postgres image once, when the data volume is first initialised
# (/docker-entrypoint-initdb.d): the roles and the records database. Temporal's own databases,
# `temporal` and `temporal_visibility`, are created by the temporal-admin-tools job as the
# `temporal` role, so each side owns only its own databases.
# Later password changes: ALTER ROLE ... PASSWORD by hand (this script never runs again).
set -eu
: "${TEMPORAL_DB_PASSWORD:?}" "${TRANSFERS_DB_PASSWORD:?}"

# psql variables (:'name') quote the passwords as SQL literals.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" \
  -v transfers_password="$TRANSFERS_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE transfers LOGIN PASSWORD :'transfers_password';
CREATE DATABASE transfers OWNER transfers;
-- Only its owner connects to the records database (Temporal's role cannot).
REVOKE ALL ON DATABASE transfers FROM PUBLIC;
SQL
