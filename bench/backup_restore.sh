#!/usr/bin/env bash
# Backup and restore of the PostgreSQL database, tested end to end (docs/deploy.md, "Backups").
#
#   bench/backup_restore.sh            # a throw-away database with demo tickets on 127.0.0.1:5432
#   SOURCE_DB=hotline bench/backup_restore.sh   # dump an existing database instead (read only)
#
# 1. fills a source database (migrations, province, demo tickets) unless SOURCE_DB is given;
# 2. pg_dump -Fc (the backup command of the runbook);
# 3. pg_restore into a NEW database (the restore command of the runbook);
# 4. compares the row count of every table and a checksum of the tickets;
# prints "RESTORE OK ..." and exits 0, or says what differs and exits 1.
# Needs pg_dump/pg_restore of the server's major version and a role that may create databases.
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
export PGHOST PGPORT PGUSER
SUFFIX=$$
SOURCE=${SOURCE_DB:-hotline_backup_src_$SUFFIX}
TARGET=hotline_restore_$SUFFIX
DUMP=$(mktemp -d)/hotline.dump
TICKETS=${TICKETS:-200}

psql_q() { psql -v ON_ERROR_STOP=1 -X -q -A -t "$@"; }

cleanup() {
  psql_q -d postgres -c "DROP DATABASE IF EXISTS \"$TARGET\" WITH (FORCE)" || true
  if [ -z "${SOURCE_DB:-}" ]; then
    psql_q -d postgres -c "DROP DATABASE IF EXISTS \"$SOURCE\" WITH (FORCE)" || true
  fi
  rm -rf "$(dirname "$DUMP")"
}
trap cleanup EXIT

if [ -z "${SOURCE_DB:-}" ]; then
  echo "==> source database $SOURCE with $TICKETS demo tickets"
  psql_q -d postgres -c "CREATE DATABASE \"$SOURCE\""
  export DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$SOURCE"
  export HOTLINE_ENV=development REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/7}
  .venv/bin/flask --app wsgi db upgrade >/dev/null
  .venv/bin/flask --app wsgi hotline load-province --quiet >/dev/null
  .venv/bin/flask --app wsgi hotline demo --tickets "$TICKETS" >/dev/null
fi

echo "==> backup: pg_dump -Fc"
# The runbook's command: custom format (compressed, restorable table by table, in parallel).
pg_dump --format=custom --no-owner --file="$DUMP" "$SOURCE"
ls -l "$DUMP" | awk '{print "    " $5 " bytes"}'

echo "==> restore into a new database $TARGET"
psql_q -d postgres -c "CREATE DATABASE \"$TARGET\""
pg_restore --no-owner --exit-on-error --jobs=2 --dbname="$TARGET" "$DUMP"

# Every table's exact row count, and a checksum of what matters most.
snapshot() {
  local db=$1
  for table in $(psql_q -d "$db" -c \
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"); do
    echo "$table $(psql_q -d "$db" -c "SELECT count(*) FROM \"$table\"")"
  done
  echo "tickets-md5 $(psql_q -d "$db" -c \
    "SELECT md5(coalesce(string_agg(code || status || version, ',' ORDER BY id), '')) FROM tickets")"
}
before=$(snapshot "$SOURCE")
after=$(snapshot "$TARGET")
if [ "$before" != "$after" ]; then
  echo "RESTORE DIFFERS:"
  diff <(echo "$before") <(echo "$after") || true
  exit 1
fi
tables=$(echo "$before" | grep -vc '^tickets-md5')
rows=$(echo "$before" | grep -v '^tickets-md5' | awk '{s += $2} END {print s}')
tickets=$(echo "$before" | awk '$1 == "tickets" {print $2}')
echo "RESTORE OK tables=$tables rows=$rows tickets=$tickets (counts and ticket checksum identical)"
