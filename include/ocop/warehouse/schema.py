"""Warehouse tables (SQLAlchemy Core), the view definitions and the one definition of a count.

Every table the code reads or writes is declared here; the Alembic revision 0001 creates
exactly these (``metadata.create_all``) plus the views and triggers below. Dates are ``Date``
columns (ISO text on SQLite), timestamps are naive UTC ``DateTime``.

The official count (outputs.md §5) is defined once, in :func:`valid_versions`: the view
``v_official_counts`` evaluates it on ``CURRENT_DATE``, :func:`ocop.warehouse.counts.counts_as_of`
on a given date.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

ACCEPTED = "accepted"                      # file outcome of a usable submission
ROW_KEPT = ("accepted", "warning")         # row outcomes that reach the national register
ROW_REJECTED = "rejected"
NATIONAL = "VN"                            # province_code of national-total lines
RATING_COLUMNS = {"3": "stars_3", "4": "stars_4", "potential-5": "potential_5", "5": "stars_5"}

# Columns of the record frame (docs/architecture.md) stored in source_record, with their types.
RECORD_TEXT = [
    "sheet", "outcome", "raw_json", "product_name", "owner", "owner_type_raw", "address",
    "province_raw", "group_raw", "rating_raw", "potential5_raw", "decision_no_raw",
    "decision_date_raw", "issuing_level_raw", "expiry_raw", "status_raw", "notes",
    "owner_type", "rating_class", "decision_no", "issuing_level", "status", "row_province_code",
    "legacy_encoding",
]
RECORD_FLAGS = ["owner_type_inferred", "row_province_unresolved", "legacy_failed"]
RECORD_DATES = ["decision_date", "expiry_date"]

# Facts of a product version: a change in any of them opens a new version.
VERSION_FACTS = [
    "province_code", "owner", "owner_type", "product_name", "group_code", "rating_class",
    "decision_no", "decision_date", "issuing_level", "expiry_date", "status",
]


def _code(n: int = 2) -> sa.String:
    return sa.String(n)


def _record_key(prefix: str = "") -> list[sa.Column]:
    return [sa.Column(f"{prefix}submission_id", sa.String(64), nullable=False),
            sa.Column(f"{prefix}row_id", sa.Integer, nullable=False)]


ref_province = sa.Table(
    "ref_province", metadata,
    sa.Column("scheme", sa.String(4), primary_key=True),
    sa.Column("code", _code(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("new_code", _code(), nullable=False),
)

ref_product_group = sa.Table(
    "ref_product_group", metadata,
    sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
)

submission = sa.Table(
    "submission", metadata,
    sa.Column("submission_id", sa.String(64), primary_key=True),
    sa.Column("province_code", _code(), nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("landed_path", sa.Text),
    sa.Column("snapshot_date", sa.Date, nullable=False),
    sa.Column("snapshot_date_source", sa.String(16)),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("processed_at", sa.DateTime, nullable=False),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("sheet", sa.Text),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("file_rule", sa.String(32)),
    sa.Column("file_message", sa.Text),
    sa.Column("rows_received", sa.Integer, nullable=False),
    sa.Column("rows_accepted", sa.Integer, nullable=False),
    sa.Column("rows_warned", sa.Integer, nullable=False),
    sa.Column("rows_rejected", sa.Integer, nullable=False),
    sa.Column("legacy_encoding", sa.String(16)),
    sa.Column("columns_json", sa.Text),
    sa.UniqueConstraint("province_code", "sha256"),
    sa.Index(None, "province_code", "snapshot_date"),
)

source_record = sa.Table(
    "source_record", metadata,
    *_record_key(),
    sa.Column("excel_row", sa.Integer),
    *[sa.Column(c, sa.Text) for c in RECORD_TEXT],
    *[sa.Column(c, sa.Boolean) for c in RECORD_FLAGS],
    *[sa.Column(c, sa.Date) for c in RECORD_DATES],
    sa.Column("group_code", sa.Integer),
    # owner_key + US + product_key (ocop.dedupe.normalize), set on load (migration 0005): the
    # index that finds a province's products elsewhere without reading the other provinces.
    sa.Column("match_key", sa.Text),
    sa.PrimaryKeyConstraint("submission_id", "row_id"),
    sa.ForeignKeyConstraint(["submission_id"], ["submission.submission_id"]),
    sa.Index("ix_source_record_match_key", "match_key"),
)

record_issue = sa.Table(
    "record_issue", metadata,
    sa.Column("issue_id", sa.Integer, primary_key=True),
    sa.Column("submission_id", sa.String(64), sa.ForeignKey("submission.submission_id"), nullable=False),
    sa.Column("row_id", sa.Integer),
    sa.Column("excel_row", sa.Integer),
    sa.Column("sheet", sa.Text),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("field", sa.String(32)),
    sa.Column("column_letter", sa.String(8)),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("message_vi", sa.Text),
    sa.Index(None, "submission_id", "row_id"),
)

product = sa.Table(
    "product", metadata,
    sa.Column("product_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_run", sa.String(128), nullable=False),
)

product_version = sa.Table(
    "product_version", metadata,
    sa.Column("product_id", sa.Integer, sa.ForeignKey("product.product_id"), nullable=False),
    sa.Column("version_no", sa.Integer, nullable=False),
    sa.Column("province_code", _code(), nullable=False),
    sa.Column("owner", sa.Text),
    sa.Column("owner_type", sa.String(8)),
    sa.Column("product_name", sa.Text),
    sa.Column("group_code", sa.Integer),
    sa.Column("rating_class", sa.String(16)),
    sa.Column("decision_no", sa.Text),
    sa.Column("decision_date", sa.Date),
    sa.Column("issuing_level", sa.String(16)),
    sa.Column("expiry_date", sa.Date),
    sa.Column("status", sa.String(16)),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
    sa.Column("is_current", sa.Boolean, nullable=False),
    *_record_key(),
    sa.PrimaryKeyConstraint("product_id", "version_no"),
    sa.ForeignKeyConstraint(["submission_id", "row_id"],
                            ["source_record.submission_id", "source_record.row_id"]),
    sa.Index(None, "valid_from", "valid_to"),
    sa.Index(None, "province_code", "is_current"),
)

record_link = sa.Table(
    "record_link", metadata,
    *_record_key(),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("product.product_id"), nullable=False),
    sa.Column("rule", sa.String(32)),
    sa.Column("score", sa.Float),
    sa.PrimaryKeyConstraint("submission_id", "row_id"),
    sa.ForeignKeyConstraint(["submission_id", "row_id"],
                            ["source_record.submission_id", "source_record.row_id"]),
    sa.Index(None, "product_id"),
)

dedupe_merge = sa.Table(
    "dedupe_merge", metadata,
    sa.Column("merge_id", sa.Integer, primary_key=True),
    sa.Column("product_id", sa.Integer, nullable=False),
    *_record_key("a_"), *_record_key("b_"),
    sa.Column("rule", sa.String(32)),
    sa.Column("score", sa.Float),
    sa.Column("run_id", sa.String(128), nullable=False),
)

dedupe_override = sa.Table(
    "dedupe_override", metadata,
    sa.Column("override_id", sa.Integer, primary_key=True),
    *_record_key("a_"), *_record_key("b_"),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("why", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    sa.CheckConstraint("action IN ('merge', 'split')", name="ck_dedupe_override_action"),
)

# The borderline pairs dedupe leaves for a person (revision 0006): written by every rebuild
# for what it re-clusters, so the review workflow reads them instead of running dedupe over the
# whole warehouse. A pair of one province is level 1 there; a pair of two provinces is a
# cross-province join dedupe refused. Records are named by the first record of their entity.
review_pair = sa.Table(
    "review_pair", metadata,
    *_record_key("a_"), *_record_key("b_"),
    sa.Column("a_province", _code(), nullable=False),
    sa.Column("b_province", _code(), nullable=False),
    sa.Column("a_owner", sa.Text), sa.Column("a_product", sa.Text),
    sa.Column("b_owner", sa.Text), sa.Column("b_product", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("reason", sa.Text),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.PrimaryKeyConstraint("a_submission_id", "a_row_id", "b_submission_id", "b_row_id"),
    sa.Index("ix_review_pair_provinces", "a_province", "b_province"),
)

province_conflict = sa.Table(
    # One row per product and period during which several provinces' snapshots in force list it
    # (migration 0003; before it, one row per product for all time).
    "province_conflict", metadata,
    sa.Column("product_id", sa.Integer, sa.ForeignKey("product.product_id"), primary_key=True,
              autoincrement=False),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date),                          # NULL while the period is open
    sa.Column("provinces", sa.Text, nullable=False),        # "01,79"
    sa.Column("chosen_province", _code(), nullable=False),  # where it is counted in the period
    sa.Column("decision_dates", sa.Text, nullable=False),   # "01:2024-05-01,79:2023-02-10"
    sa.Column("detected_run", sa.String(128), nullable=False),
)

dq_run = sa.Table(
    "dq_run", metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("submissions", sa.Integer, nullable=False),
    sa.Column("rows_received", sa.Integer, nullable=False),
    sa.Column("rows_accepted", sa.Integer, nullable=False),
    sa.Column("rows_warned", sa.Integer, nullable=False),
    sa.Column("rows_rejected", sa.Integer, nullable=False),
)

dq_rule_count = sa.Table(
    "dq_rule_count", metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("submission_id", sa.String(64), sa.ForeignKey("submission.submission_id"), primary_key=True),
    sa.Column("rule", sa.String(32), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)

publication = sa.Table(
    "publication", metadata,
    sa.Column("publication_id", sa.Integer, primary_key=True),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("published_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("superseded_reason", sa.Text),
    sa.Column("superseded_by", sa.Integer, sa.ForeignKey("publication.publication_id")),
    # Who approved the freeze and when (revision 0004): the Airflow user who answered the
    # approval task, or "<login> (ocop publish)" for a scripted publication.
    sa.Column("approved_by", sa.Text),
    sa.Column("approved_at", sa.DateTime),
    sa.CheckConstraint("status IN ('published', 'superseded')", name="ck_publication_status"),
    # At most one live publication per period.
    sa.Index("ux_publication_live_period", "period", unique=True,
             sqlite_where=sa.text("status = 'published'"),
             postgresql_where=sa.text("status = 'published'")),
)

published_count = sa.Table(
    "published_count", metadata,
    sa.Column("publication_id", sa.Integer, sa.ForeignKey("publication.publication_id"), primary_key=True),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("dimension", sa.String(16), primary_key=True),
    sa.Column("province_code", _code(), primary_key=True),
    sa.Column("key", sa.String(16), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("share_pct", sa.Float),
)

# Every answer to a publication approval (revision 0004): an approval points at the publication
# it froze; a rejection froze nothing and keeps its reason.
publication_decision = sa.Table(
    "publication_decision", metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("decision", sa.String(8), nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("publication_id", sa.Integer, sa.ForeignKey("publication.publication_id")),
    sa.Column("run_id", sa.String(250)),
    sa.CheckConstraint("decision IN ('approved', 'rejected')", name="ck_publication_decision_decision"),
)

# Every answer to a review item (revision 0004): ``item_key`` names the borderline pair
# (``pair:<sid>#<row>|<sid>#<row>``) or the cross-province conflict
# (``conflict:<product_id>:<provinces>``); ``decision`` is ``merge``, ``split`` or
# ``keep:<province code>``. A ``keep:`` decision on a conflict chooses the product's province on
# every later rebuild; merges and splits are also ``dedupe_override`` rows.
review_decision = sa.Table(
    "review_decision", metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True),
    sa.Column("item_key", sa.Text, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("product_id", sa.Integer),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("why", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.Column("run_id", sa.String(250)),
    sa.CheckConstraint("kind IN ('pair', 'conflict')", name="ck_review_decision_kind"),
    sa.Index(None, "item_key"),
)

# ---------------------------------------------------------------------------------------------
# The official count, defined once.

def valid_versions(as_of: sa.ColumnElement) -> sa.Subquery:
    """Product versions holding a valid certificate on ``as_of`` (outputs.md §5).

    The version is the one in force from its province's latest accepted snapshot on or before
    the date, the decision is on or before it, the date is before the expiry, not revoked.
    At most one version of a product is valid on a date (a product listed by several provinces
    has one version per period, in the province chosen for it), so rows are distinct products.
    """
    pv = product_version
    return (
        sa.select(pv.c.product_id, pv.c.province_code, pv.c.rating_class, pv.c.group_code,
                  pv.c.owner_type)
        .where(pv.c.valid_from <= as_of,
               sa.or_(pv.c.valid_to.is_(None), as_of < pv.c.valid_to),
               pv.c.decision_date <= as_of,
               as_of < pv.c.expiry_date,
               sa.or_(pv.c.status.is_(None), pv.c.status != "revoked"))
        .subquery("vv")
    )


def _share(n: sa.ColumnElement) -> sa.ColumnElement:
    """Share of the column total in percent, 1 decimal (window over the whole result)."""
    # 100.0 as a literal: NUMERIC on PostgreSQL (round(numeric, int) exists), REAL on SQLite.
    return sa.func.round(sa.literal_column("100.0") * n / sa.func.nullif(sa.func.sum(n).over(), 0), 1)


def counts_by_province_class(as_of: sa.ColumnElement) -> sa.Select:
    """All 34 provinces (zeros included) x rating class, total and share of the national total."""
    vv = valid_versions(as_of)
    rp = ref_province
    per_class = [sa.func.coalesce(sa.func.sum(sa.case((vv.c.rating_class == cls, 1), else_=0)), 0).label(col)
                 for cls, col in RATING_COLUMNS.items()]
    inner = (
        sa.select(rp.c.code.label("province_code"), rp.c.name.label("province_name"), *per_class,
                  sa.func.count(vv.c.product_id).label("total"))
        .select_from(rp.outerjoin(vv, vv.c.province_code == rp.c.code))
        .where(rp.c.scheme == "2025")
        .group_by(rp.c.code, rp.c.name)
        .subquery("pc")
    )
    return (sa.select(*inner.c, _share(inner.c.total).label("share_pct"))
            .order_by(inner.c.province_code))


def counts_by(column: str, as_of: sa.ColumnElement) -> sa.Select:
    """National count by one attribute of the version (``group_code``, ``owner_type``)."""
    vv = valid_versions(as_of)
    n = sa.func.count().label("n")
    inner = sa.select(vv.c[column].label("key"), n).group_by(vv.c[column]).subquery("cb")
    return sa.select(inner.c.key, inner.c.n, _share(inner.c.n).label("share_pct")).order_by(inner.c.key)


# ---------------------------------------------------------------------------------------------
# Views and triggers (DDL text per dialect), created by the migration.

def _days_since(dialect: Dialect, column: str) -> str:
    if dialect.name == "postgresql":
        return f"(CURRENT_DATE - {column})"
    return f"CAST(julianday(CURRENT_DATE) - julianday({column}) AS INTEGER)"


def view_ddl(dialect: Dialect) -> dict[str, str]:
    """``{view name: SELECT ...}`` for this dialect."""
    official = counts_by_province_class(sa.func.current_date()).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True})
    return {
        "v_official_counts": str(official),
        "v_products_current": """
            SELECT pv.*, rp.name AS province_name
            FROM product_version pv
            JOIN ref_province rp ON rp.scheme = '2025' AND rp.code = pv.province_code
            WHERE pv.is_current""",
        "v_submission_status": f"""
            WITH ranked AS (
                SELECT s.*, ROW_NUMBER() OVER (PARTITION BY province_code
                                               ORDER BY received_at DESC, submission_id DESC) AS rn
                FROM submission s),
            last_ok AS (
                SELECT province_code, MAX(snapshot_date) AS last_accepted_snapshot
                FROM submission WHERE outcome = 'accepted' GROUP BY province_code)
            SELECT rp.code AS province_code, rp.name AS province_name,
                   r.submission_id AS latest_submission_id, r.file_name AS latest_file_name,
                   r.received_at AS latest_received_at, r.snapshot_date AS latest_snapshot_date,
                   r.outcome AS latest_outcome, r.file_rule AS latest_file_rule,
                   r.rows_received, r.rows_accepted, r.rows_warned, r.rows_rejected,
                   l.last_accepted_snapshot,
                   {_days_since(dialect, 'l.last_accepted_snapshot')} AS days_since_accepted_snapshot
            FROM ref_province rp
            LEFT JOIN ranked r ON r.province_code = rp.code AND r.rn = 1
            LEFT JOIN last_ok l ON l.province_code = rp.code
            WHERE rp.scheme = '2025'""",
    }


_PG_IMMUTABLE = """
CREATE FUNCTION published_count_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'published_count is immutable: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER published_count_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON published_count
    FOR EACH STATEMENT EXECUTE FUNCTION published_count_immutable();
"""
_SQLITE_IMMUTABLE = [
    f"""CREATE TRIGGER published_count_no_{op.lower()} BEFORE {op} ON published_count
        BEGIN SELECT RAISE(ABORT, 'published_count is immutable: {op} is not allowed'); END"""
    for op in ("UPDATE", "DELETE")
]


def trigger_ddl(dialect: Dialect) -> list[str]:
    """Statements that make published counts immutable (UPDATE/DELETE refused)."""
    return [_PG_IMMUTABLE] if dialect.name == "postgresql" else list(_SQLITE_IMMUTABLE)


def drop_trigger_ddl(dialect: Dialect) -> list[str]:
    if dialect.name == "postgresql":
        return ["DROP TRIGGER IF EXISTS published_count_no_change ON published_count",
                "DROP FUNCTION IF EXISTS published_count_immutable()"]
    return ["DROP TRIGGER IF EXISTS published_count_no_update",
            "DROP TRIGGER IF EXISTS published_count_no_delete"]
