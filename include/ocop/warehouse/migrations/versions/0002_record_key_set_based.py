"""PostgreSQL: source_record -> submission checked once per statement, not once per row.

A foreign key makes PostgreSQL look the parent up row by row: loading 1,000,000 source records
spent more time in those lookups than in the COPY itself (docs/warehouse.md, "Performance").
This revision replaces that one key by statement-level triggers that enforce the same rule
with one set-based query per statement, for every writer (not only the pipeline):

- an INSERT or UPDATE on ``source_record`` whose ``submission_id`` is not in ``submission`` is
  refused (SQLSTATE 23503, foreign_key_violation), and the parents are locked ``FOR KEY SHARE``
  as a foreign key would lock them, so a concurrent delete cannot slip between check and commit;
- a DELETE or UPDATE on ``submission`` that leaves source records without their submission is
  refused the same way.

Like a foreign key that is not deferrable, the check runs at the end of each statement. SQLite
keeps the declared foreign key (``ocop.warehouse.schema``), which it checks cheaply.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FK_NAME = "fk_source_record_submission_id_submission"

_CHILD_CHECK = """
CREATE FUNCTION source_record_submission_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    PERFORM 1 FROM submission s
     WHERE s.submission_id IN (SELECT DISTINCT submission_id FROM new_rows)
       FOR KEY SHARE;
    SELECT n.submission_id INTO missing
      FROM (SELECT DISTINCT submission_id FROM new_rows) n
     WHERE NOT EXISTS (SELECT 1 FROM submission s WHERE s.submission_id = n.submission_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('insert or update on table "source_record" violates its key to "submission": '
                             'submission_id %L is not in submission', missing);
    END IF;
    RETURN NULL;
END $$
"""

_PARENT_CHECK = """
CREATE FUNCTION submission_source_record_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held text;
BEGIN
    SELECT o.submission_id INTO held
      FROM (SELECT DISTINCT submission_id FROM old_rows) o
     WHERE NOT EXISTS (SELECT 1 FROM submission s WHERE s.submission_id = o.submission_id)
       AND EXISTS (SELECT 1 FROM source_record r WHERE r.submission_id = o.submission_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('update or delete on table "submission" violates the key from "source_record": '
                             'submission_id %L still has source records', held);
    END IF;
    RETURN NULL;
END $$
"""

# PostgreSQL allows transition tables on single-event triggers only: one trigger per event.
_TRIGGERS = [
    ("source_record_submission_ins", "INSERT", "source_record", "NEW TABLE AS new_rows", "source_record_submission_check"),
    ("source_record_submission_upd", "UPDATE", "source_record", "NEW TABLE AS new_rows", "source_record_submission_check"),
    ("submission_source_record_del", "DELETE", "submission", "OLD TABLE AS old_rows", "submission_source_record_check"),
    ("submission_source_record_upd", "UPDATE", "submission", "OLD TABLE AS old_rows", "submission_source_record_check"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE source_record DROP CONSTRAINT {FK_NAME}")
    op.execute(_CHILD_CHECK)
    op.execute(_PARENT_CHECK)
    for name, event, table, transition, function in _TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transition} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _, table, _, _ in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS source_record_submission_check()")
    op.execute("DROP FUNCTION IF EXISTS submission_source_record_check()")
    op.execute(f"ALTER TABLE source_record ADD CONSTRAINT {FK_NAME} "
               "FOREIGN KEY (submission_id) REFERENCES submission (submission_id)")
