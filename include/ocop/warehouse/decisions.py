"""What a Ministry user is asked to decide, and what their answers do to the warehouse.

- :func:`open_review_items`: the borderline dedupe pairs nobody has decided (no
  ``dedupe_override`` on the pair) and the cross-province conflicts nobody has decided (no
  ``review_decision`` on the product with the same provinces), each as a small dict with the
  question's subject, Markdown body and options (what an Airflow review task shows);
- :func:`apply_review_answer`: one answer becomes what ``ocop dedupe override`` records: a
  ``dedupe_override`` row (merge / keep apart) through :func:`ocop.warehouse.load.record_overrides`,
  which rebuilds the products in the same transaction, or, for "keep in province X", a
  ``review_decision`` the rebuild reads (the product's province). Every answer is also a
  ``review_decision`` row naming who answered;
- :func:`publication_summary`: the Markdown an approver reads: the period's counts by province
  and class, the changes from the previous publication, the open review items.

Pure warehouse code: nothing here imports Airflow (the DAG passes plain dicts in).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ocop.reference.provinces import PROVINCES
from ocop.warehouse import schema as s
from ocop.warehouse.counts import CLASS_COLUMNS, counts_as_of

MERGE = "Same product (merge)"
APART = "Different products (keep apart)"
LEAVE_OPEN = "Leave open (decide later)"
KEEP_PREFIX = "Same product, counted in "
CLASS_LABELS = {"stars_3": "3★", "stars_4": "4★", "potential_5": "potential 5★", "stars_5": "5★"}
MAX_ITEMS = 20  # questions asked per run (the rest stay open for the next run)


def _province(code: str) -> str:
    p = PROVINCES.get(code)
    return f"{code} {p.short_name}" if p else code


def keep_option(code: str) -> str:
    return f"{KEEP_PREFIX}{_province(code)}"


def pair_key(a: tuple[str, int], b: tuple[str, int]) -> str:
    (sa_, ra), (sb, rb) = sorted([(str(a[0]), int(a[1])), (str(b[0]), int(b[1]))])
    return f"pair:{sa_}#{ra}|{sb}#{rb}"


def conflict_key(product_id: int, provinces: str) -> str:
    return f"conflict:{int(product_id)}:{provinces}"


def _md(text) -> str:
    """A value safe inside a Markdown table cell."""
    return str("" if text is None or (isinstance(text, float) and pd.isna(text)) else text).replace("|", "\\|")


# --------------------------------------------------------------------------- open items

def _decided_pairs(conn: Connection) -> set[str]:
    o = s.dedupe_override
    rows = conn.execute(sa.select(o.c.a_submission_id, o.c.a_row_id, o.c.b_submission_id, o.c.b_row_id)).all()
    return {pair_key((r[0], r[1]), (r[2], r[3])) for r in rows}


def _decided_conflicts(conn: Connection) -> set[str]:
    d = s.review_decision
    return set(conn.scalars(sa.select(d.c.item_key).where(d.c.kind == "conflict")))


def _conflict_records(conn: Connection, product_id: int) -> pd.DataFrame:
    """One record per province for a product: its row in the province's latest accepted
    snapshot linking to the product (what "keep apart" splits)."""
    rl, sr, sub = s.record_link, s.source_record, s.submission
    rows = conn.execute(
        sa.select(sub.c.province_code, rl.c.submission_id, rl.c.row_id, sr.c.owner, sr.c.product_name,
                  sr.c.decision_date, sub.c.snapshot_date, sub.c.received_at)
        .join_from(rl, sr, sa.and_(sr.c.submission_id == rl.c.submission_id, sr.c.row_id == rl.c.row_id))
        .join(sub, sub.c.submission_id == rl.c.submission_id)
        .where(rl.c.product_id == int(product_id))
        .order_by(sub.c.province_code, sub.c.snapshot_date.desc(), sub.c.received_at.desc(), rl.c.row_id)
    ).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows])
    return frame.drop_duplicates("province_code", ignore_index=True) if not frame.empty else frame


def _pair_item(r) -> dict:
    a, b = (r.a_submission_id, int(r.a_row_id)), (r.b_submission_id, int(r.b_row_id))
    body = (
        "Dedupe could not decide whether these two records are **one product**.\n\n"
        "| | File | Row | Owner | Product |\n|---|---|---|---|---|\n"
        f"| A | {_md(a[0])} | {a[1]} | {_md(r.a_owner)} | {_md(r.a_product)} |\n"
        f"| B | {_md(b[0])} | {b[1]} | {_md(r.b_owner)} | {_md(r.b_product)} |\n\n"
        f"Similarity score {float(r.score):.2f} ({_md(r.reason)}).\n\n"
        f"*{MERGE}*: counted once from now on. *{APART}*: never joined. Your answer is recorded "
        "as a dedupe override under your Airflow user name and applied on every later run."
    )
    return {"key": pair_key(a, b), "kind": "pair", "a": list(a), "b": list(b),
            "subject": f"Same product? {str(r.a_product)[:40]} / {str(r.b_product)[:40]}",
            "body": body, "options": [MERGE, APART, LEAVE_OPEN], "defaults": [LEAVE_OPEN]}


def _conflict_item(conn: Connection, r) -> dict | None:
    records = _conflict_records(conn, r.product_id)
    if len(records) < 2:
        return None
    lines = "".join(f"| {_md(_province(x.province_code))} | {_md(x.owner)} | {_md(x.product_name)} | "
                    f"{_md(x.decision_date)} | {_md(x.submission_id)}#{int(x.row_id)} |\n"
                    for x in records.itertuples())
    body = (
        f"Product {int(r.product_id)} is in the registers of **{len(records)} provinces**; it is counted "
        f"once, now in **{_md(_province(r.chosen_province))}** (the most recent decision among the registers in force).\n\n"
        "| Province | Owner | Product | Decision date | Record |\n|---|---|---|---|---|\n" + lines +
        f"\nChoose the province it is counted in, or *{APART}* if these are different products."
    )
    codes = list(records["province_code"])
    return {"key": conflict_key(r.product_id, r.provinces), "kind": "conflict", "product_id": int(r.product_id),
            "records": {c: [sid, int(row)] for c, sid, row in zip(codes, records["submission_id"], records["row_id"])},
            "subject": f"Which province counts product {int(r.product_id)} ({', '.join(codes)})?",
            "body": body, "options": [*(keep_option(c) for c in codes), APART, LEAVE_OPEN],
            "defaults": [LEAVE_OPEN]}


def open_review_items(engine: Engine, review: pd.DataFrame | None = None, limit: int | None = MAX_ITEMS) -> list[dict]:
    """Undecided cross-province conflicts (they move a product between provinces' counts),
    then undecided borderline pairs (highest score first).
    ``review``: the borderline pairs if already computed (else dedupe runs read-only)."""
    from ocop.warehouse.load import review_pairs

    review = review_pairs(engine) if review is None else review
    items: list[dict] = []
    with engine.connect() as conn:
        done = _decided_conflicts(conn)
        pc = s.province_conflict
        # A product's conflict has one row per period (migration 0003): ask about its latest one.
        latest = {r.product_id: r for r in conn.execute(
            sa.select(pc.c.product_id, pc.c.provinces, pc.c.chosen_province)
            .order_by(pc.c.product_id, pc.c.valid_from)).all()}
        for r in latest.values():
            if conflict_key(r.product_id, r.provinces) not in done and (item := _conflict_item(conn, r)):
                items.append(item)
        decided = _decided_pairs(conn)
        if not review.empty:
            for r in review.sort_values("score", ascending=False).itertuples():
                if pair_key((r.a_submission_id, r.a_row_id), (r.b_submission_id, r.b_row_id)) not in decided:
                    items.append(_pair_item(r))
    return items[:limit] if limit is not None else items


# --------------------------------------------------------------------------- answers

def _who(answer: dict) -> str:
    user = answer.get("responded_by_user") or {}
    who = (user.get("name") or user.get("id") or "") if isinstance(user, dict) else str(user)
    if not str(who).strip():
        raise ValueError(f"an answer without the user who gave it: {answer!r}")
    return str(who).strip()


def _at(answer: dict) -> datetime:
    at = answer.get("responded_at") or datetime.now(timezone.utc)
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return at.astimezone(timezone.utc) if at.tzinfo else at.replace(tzinfo=timezone.utc)


def apply_review_answer(engine: Engine, item: dict, answer: dict | None, run_id: str) -> dict:
    """Record one answer (the XCom of an Airflow review task: ``chosen_options``,
    ``params_input``, ``responded_by_user``, ``responded_at``); returns what was done.
    No answer, or "leave open": nothing is recorded and the item stays open."""
    from ocop.dedupe.review import override_row
    from ocop.warehouse.load import record_overrides, take_write_lock

    chosen = (answer or {}).get("chosen_options") or []
    choice = chosen[0] if chosen else None
    if choice is None or choice == LEAVE_OPEN:
        return {"key": item["key"], "decision": "open"}
    if choice not in item["options"]:
        raise ValueError(f"{choice!r} is not an option of {item['key']}: {item['options']}")
    who, at = _who(answer), _at(answer)
    why = ((answer.get("params_input") or {}).get("reason") or "").strip() or f"answered in Airflow, run {run_id}"
    if item["kind"] == "pair":
        action = "merge" if choice == MERGE else "split"
        pairs = [(tuple(item["a"]), tuple(item["b"]))]
    elif choice == APART:
        action = "split"
        refs = [tuple(v) for _, v in sorted(item["records"].items())]
        pairs = [(x, y) for i, x in enumerate(refs) for y in refs[i + 1:]]
    else:
        code = next(c for c in item["records"] if keep_option(c) == choice)
        action, pairs = f"keep:{code}", []
    decision = {"item_key": item["key"], "kind": item["kind"], "product_id": item.get("product_id"),
                "decision": action, "who": who, "why": why,
                "decided_at": at.replace(tzinfo=None), "run_id": run_id}
    insert = s.review_decision.insert().values(**decision)
    if pairs:  # merge / keep apart: the rows `ocop dedupe override` writes, products rebuilt once
        record_overrides(engine, [override_row(a, b, action, who, why, now=at) for a, b in pairs], run_id,
                         then=lambda conn: conn.execute(insert))
    else:      # the province a product is counted in: read by every rebuild of that product
        from ocop.dedupe import assign_products
        from ocop.warehouse.rebuild import product_provinces, rebuild_products

        with engine.connect() as conn:
            conn.execution_options(write_lock=True)
            with conn.begin():
                take_write_lock(conn)
                conn.execute(insert)
                provinces = product_provinces(conn, [int(item["product_id"])]) if item.get("product_id") is not None else None
                rebuild_products(conn, run_id, assign_products, provinces=provinces)
    return {"key": item["key"], "decision": action, "who": who}


def province_choices(conn: Connection) -> dict[int, str]:
    """``{product_id: province code}`` chosen by people for cross-province products (latest wins)."""
    d = s.review_decision
    rows = conn.execute(sa.select(d.c.product_id, d.c.decision)
                        .where(d.c.kind == "conflict", d.c.decision.like("keep:%"))
                        .order_by(d.c.decision_id)).all()
    return {int(pid): decision.split(":", 1)[1] for pid, decision in rows if pid is not None}


# --------------------------------------------------------------------------- the approval page

def standing_rejection(engine: Engine, period: str) -> dict | None:
    """The last rejection of ``period`` if nothing changed in the warehouse since (no file
    loaded, no review answer): asking again would show the same page. None: ask."""
    pd_, sub, o, rd = s.publication_decision, s.submission, s.dedupe_override, s.review_decision
    with engine.connect() as conn:
        last = conn.execute(sa.select(pd_.c.decision, pd_.c.decided_by, pd_.c.decided_at, pd_.c.reason)
                            .where(pd_.c.period == period)
                            .order_by(pd_.c.decided_at.desc(), pd_.c.decision_id.desc()).limit(1)).first()
        if last is None or last.decision != "rejected":
            return None
        changes = [conn.scalar(sa.select(sa.func.max(c))) for c in
                   (sub.c.processed_at, o.c.created_at, rd.c.decided_at)]
    changed = max((c for c in changes if c is not None), default=None)
    if changed is not None and changed > last.decided_at:
        return None
    return {"decided_by": last.decided_by, "decided_at": last.decided_at.isoformat(), "reason": last.reason}


def _previous_publication(conn: Connection, as_of: date, period: str):
    p = s.publication
    return conn.execute(sa.select(p.c.publication_id, p.c.period, p.c.as_of)
                        .where(p.c.status == "published", p.c.period != period, p.c.as_of <= as_of)
                        .order_by(p.c.as_of.desc(), p.c.publication_id.desc()).limit(1)).first()


def _published_by_province_class(conn: Connection, publication_id: int) -> pd.DataFrame:
    pc = s.published_count
    rows = conn.execute(sa.select(pc.c.province_code, pc.c.key, pc.c.n)
                        .where(pc.c.publication_id == publication_id, pc.c.dimension == "province_class")).all()
    return pd.DataFrame(rows, columns=["province_code", "key", "n"])


def publication_summary(engine: Engine, period: str, open_items: list[dict] | None = None) -> dict:
    """The approval page of ``period``: ``{"period", "as_of", "national_total", "changes", "body"}``
    (``body`` is Markdown)."""
    from ocop.warehouse.publish import _CLASS_KEYS, period_end

    as_of = period_end(period)
    counts = counts_as_of(engine, as_of)
    table = counts.with_national()
    head = "| Province | " + " | ".join(CLASS_LABELS[c] for c in CLASS_COLUMNS) + " | Total |\n"
    head += "|---" * (len(CLASS_COLUMNS) + 2) + "|\n"
    rows = "".join(f"| {_md(r.province_code)} {_md(r.province_name)} | "
                   + " | ".join(str(int(getattr(r, c))) for c in CLASS_COLUMNS) + f" | {int(r.total)} |\n"
                   for r in table.itertuples() if int(r.total) or r.province_code == s.NATIONAL)
    with engine.connect() as conn:
        previous = _previous_publication(conn, as_of, period)
        before = _published_by_province_class(conn, previous.publication_id) if previous else None
    changes: list[dict] = []
    if before is not None:
        now = table.melt(id_vars=["province_code"], value_vars=[*CLASS_COLUMNS, "total"], var_name="col",
                         value_name="n_now")
        now["key"] = now["col"].map(lambda c: _CLASS_KEYS.get(c, "total"))
        both = now.merge(before, on=["province_code", "key"], how="outer").fillna({"n_now": 0, "n": 0})
        both = both[both["n_now"].astype(int) != both["n"].astype(int)]
        changes = [{"province_code": r.province_code, "class": r.key, "before": int(r.n), "now": int(r.n_now)}
                   for r in both.sort_values(["province_code", "key"]).itertuples()]
    if previous is None:
        change_md = "No earlier publication: everything is new.\n"
    elif not changes:
        change_md = f"No change from {previous.period} (as of {previous.as_of}).\n"
    else:
        change_md = (f"From {previous.period} (as of {previous.as_of}):\n\n| Province | Class | Before | Now | Change |\n"
                     "|---|---|---|---|---|\n" +
                     "".join(f"| {_md(_province(c['province_code']) if c['province_code'] != s.NATIONAL else 'VN Toàn quốc')}"
                             f" | {c['class']} | {c['before']} | {c['now']} | {c['now'] - c['before']:+d} |\n"
                             for c in changes))
    items = open_items if open_items is not None else open_review_items(engine)
    items_md = ("None.\n" if not items else
                "".join(f"- {_md(i['subject'])}\n" for i in items) +
                "\nThey are not decided: the counts treat them as dedupe did. Reject to decide them first.\n")
    national = int(counts.national["total"])
    body = (f"## Publish the official OCOP counts of {period}?\n\n"
            f"Counts as of **{as_of:%d/%m/%Y}**: **{national:,}** products nationally. Approve to freeze them "
            "(they never change after) and write the Ministry's workbook; Reject publishes nothing "
            "(give the reason in the form).\n\n"
            f"### Counts by province and class\n\n{head}{rows}\n"
            f"### Changes from the previous publication\n\n{change_md}\n"
            f"### Open review items ({len(items)})\n\n{items_md}")
    return {"period": period, "as_of": as_of.isoformat(), "national_total": national, "changes": changes,
            "open_items": len(items), "body": body}
