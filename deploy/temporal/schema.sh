#!/bin/sh
# Creates Temporal's two databases when missing (unless CREATE_DATABASES=no)
# and brings both schemas to
# the server's version, with temporal-sql-tool. Every step is idempotent,
# so it runs before every server start and upgrades the schema after a
# version bump. docker-compose.yml's temporal-schema job and `make stack`
# both run this file.
#
# temporal-sql-tool reads its connection from SQL_PLUGIN, SQL_HOST,
# SQL_PORT, SQL_USER and SQL_PASSWORD, so the password is never on a
# command line. SCHEMA_DIR is the server version's schema/postgresql/v12
# (the admin-tools image has it in /etc/temporal/schema/postgresql/v12;
# `make stack` takes it from the go.temporal.io/server module).
set -eu
: "${SCHEMA_DIR:?set SCHEMA_DIR to the server's schema/postgresql/v12}"
for db in "${DBNAME:-temporal}" "${VISIBILITY_DBNAME:-temporal_visibility}"; do
  dir=temporal
  [ "$db" = "${VISIBILITY_DBNAME:-temporal_visibility}" ] && dir=visibility
  # compose's postgres-roles job makes the databases for a role that may
  # not (CREATE_DATABASES=no); `make stack` lets the tool make them.
  if [ "${CREATE_DATABASES:-yes}" = yes ]; then
    temporal-sql-tool --db "$db" create-database
  fi
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned"
done
echo "temporal schemas are up to date"
