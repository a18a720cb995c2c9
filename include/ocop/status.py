"""The submission status page: what each of the 34 provinces last sent, and today's counts.

Query logic and rendering live here (no Airflow import); the Airflow plugin
``plugins/ocop_status.py`` only authenticates the request and returns :func:`render_html`.

Per province: the submission applied last, i.e. its accepted submission with the latest
snapshot date (the warehouse applies a province's snapshots in snapshot-date order, so this is
the register the counts come from, whatever order the files arrived in), its file outcome, rows
received / accepted / warned / rejected, that snapshot date and the days since then, and the
``report.json`` of that submission (found by submission id under
``<reports>/<code>/*/report.json``). When the province's latest arrival is another file (a
rejected file, or an older snapshot sent later), the row shows that file too and says so.
Files that arrived in one run count as arriving together. Below the table: the decisions
waiting for the Ministry (the open review items ``ocop_publish`` listed, with a link to
Airflow's Required Actions) and the provinces late for the reporting period's deadline
(:func:`ocop.monitor.check_deadline`). Nationally: the official counts as of the page's date
(:func:`ocop.warehouse.counts_as_of`, the one definition of a count) with an inline SVG chart.
The HTML is self-contained (no script, no external CSS or fonts: the servers are offline).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ocop.reference.provinces import PROVINCES
from ocop.warehouse import schema as s

CLASS_LABELS = {"stars_3": "3 sao", "stars_4": "4 sao", "potential_5": "Tiềm năng 5 sao", "stars_5": "5 sao"}
CLASS_COLOURS = {"stars_3": "#9ecae1", "stars_4": "#4292c6", "potential_5": "#fd8d3c", "stars_5": "#d94801"}


@dataclass(frozen=True)
class ProvinceStatus:
    """``latest_*``, the counts and ``report_json``: the submission applied last (the accepted one
    with the latest snapshot date), or the latest arrival when none was accepted. ``arrival_*``:
    the latest arrival, only when it is another submission; ``arrival_note`` says how it differs."""

    code: str
    name: str
    latest_submission_id: str | None = None
    latest_file_name: str | None = None
    latest_received_at: dt.datetime | None = None
    latest_snapshot_date: dt.date | None = None
    latest_outcome: str | None = None            # accepted / rejected; None: never submitted
    latest_file_rule: str | None = None
    rows_received: int | None = None
    rows_accepted: int | None = None
    rows_warned: int | None = None
    rows_rejected: int | None = None
    last_accepted_snapshot: dt.date | None = None
    days_since_accepted: int | None = None        # None: no accepted snapshot ever
    report_json: str | None = None                # path relative to the reports folder
    arrival_submission_id: str | None = None
    arrival_file_name: str | None = None
    arrival_received_at: dt.datetime | None = None
    arrival_snapshot_date: dt.date | None = None
    arrival_outcome: str | None = None
    arrival_file_rule: str | None = None
    arrival_note: str | None = None               # Vietnamese: why the latest arrival is not the one applied
    arrival_report_json: str | None = None


@dataclass(frozen=True)
class StatusPage:
    as_of: dt.date
    provinces: list[ProvinceStatus]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)   # code -> {stars_3.., total}
    national: dict[str, int] = field(default_factory=dict)
    # Decisions waiting for the Ministry (ocop_publish's review), and the deadline check.
    open_items: list[dict] = field(default_factory=list)               # {key, kind, subject}
    deadline: dict = field(default_factory=dict)                       # ocop.monitor.DeadlineCheck.as_dict()


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _arrival_note(arrival: dict, applied: dict) -> str:
    if arrival["outcome"] != s.ACCEPTED:
        rule = f" ({arrival['file_rule']})" if arrival["file_rule"] else ""
        return f"Tệp nhận sau cùng bị loại{rule}; đang áp dụng bản chốt {_date(applied['snapshot_date'])}."
    if _date(arrival["snapshot_date"]) > _date(applied["snapshot_date"]):
        return (f"Tệp nhận sau cùng có ngày chốt {_date(arrival['snapshot_date'])}, sau ngày hôm nay: chưa áp "
                f"dụng; đang áp dụng bản chốt {_date(applied['snapshot_date'])}.")
    return (f"Tệp nhận sau cùng có ngày chốt {_date(arrival['snapshot_date'])}, cũ hơn bản chốt "
            f"{_date(applied['snapshot_date'])} đang áp dụng.")


def latest_submissions(engine: Engine, today: dt.date) -> list[ProvinceStatus]:
    """One line per 2025 province (all 34, in code order), from the ``submission`` table."""
    sub = s.submission
    with engine.connect() as conn:
        rows = conn.execute(sa.select(
            sub.c.province_code, sub.c.submission_id, sub.c.file_name, sub.c.received_at,
            sub.c.snapshot_date, sub.c.outcome, sub.c.file_rule, sub.c.rows_received,
            sub.c.rows_accepted, sub.c.rows_warned, sub.c.rows_rejected, sub.c.run_id,
        ).order_by(sub.c.province_code, sub.c.received_at, sub.c.submission_id)).mappings().all()
    by_code: dict[str, list[dict]] = {}
    for r in rows:
        by_code.setdefault(r["province_code"], []).append(dict(r))     # in arrival order
    out = []
    for code, prov in sorted(PROVINCES.items()):
        subs = by_code.get(code, [])
        usable = [r for r in subs if r["outcome"] == s.ACCEPTED and _date(r["snapshot_date"]) is not None
                  and _date(r["snapshot_date"]) <= today]
        # Applied last: the latest snapshot (of two copies of one date, the later arrival).
        applied = max(reversed(usable), key=lambda r: _date(r["snapshot_date"]), default=None)
        ok = _date(applied["snapshot_date"]) if applied else None
        base = dict(code=code, name=prov.short_name, last_accepted_snapshot=ok,
                    days_since_accepted=(today - ok).days if ok else None)
        if not subs:
            out.append(ProvinceStatus(**base))
            continue
        # The latest arrival; the files of one run arrived together (the applied one among them).
        last_run = [r for r in subs if r["run_id"] == subs[-1]["run_id"]]
        arrival = applied if applied in last_run else last_run[-1]
        shown = applied or arrival
        if arrival is not shown:
            base.update(arrival_submission_id=arrival["submission_id"], arrival_file_name=arrival["file_name"],
                        arrival_received_at=arrival["received_at"],
                        arrival_snapshot_date=_date(arrival["snapshot_date"]), arrival_outcome=arrival["outcome"],
                        arrival_file_rule=arrival["file_rule"], arrival_note=_arrival_note(arrival, shown))
        out.append(ProvinceStatus(
            **base, latest_submission_id=shown["submission_id"], latest_file_name=shown["file_name"],
            latest_received_at=shown["received_at"], latest_snapshot_date=_date(shown["snapshot_date"]),
            latest_outcome=shown["outcome"], latest_file_rule=shown["file_rule"],
            rows_received=shown["rows_received"], rows_accepted=shown["rows_accepted"],
            rows_warned=shown["rows_warned"], rows_rejected=shown["rows_rejected"]))
    return out


def report_index(reports_root: Path, province_code: str) -> dict[str, Path]:
    """``{submission id: report.json path}`` of one province's outbox folder."""
    found: dict[str, Path] = {}
    folder = Path(reports_root) / province_code
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*/report.json")):
        try:
            sid = json.loads(path.read_text(encoding="utf-8")).get("submission_id")
        except (OSError, ValueError):
            continue
        if sid:
            found[sid] = path
    return found


def open_items(publications_root: Path | None) -> list[dict]:
    """The open review items as the last ``ocop_publish`` run listed them
    (``publications/current/open_review_items.json``; none listed yet: empty)."""
    if publications_root is None:
        return []
    path = Path(publications_root) / "current" / "open_review_items.json"
    try:
        return list(json.loads(path.read_text(encoding="utf-8")).get("items") or [])
    except (OSError, ValueError, AttributeError):
        return []


def build_status(engine: Engine, reports_root: Path | None, today: dt.date | None = None,
                 publications_root: Path | None = None) -> StatusPage:
    """Everything the page shows, as data."""
    from ocop.monitor import check_deadline
    from ocop.warehouse import counts_as_of

    today = today or dt.date.today()
    provinces = latest_submissions(engine, today)
    if reports_root is not None:
        root = Path(reports_root)
        with_reports = []
        for p in provinces:
            index = report_index(root, p.code) if p.latest_submission_id else {}

            def rel(sid: str | None) -> str | None:
                path = index.get(sid) if sid else None
                return path.relative_to(root).as_posix() if path else None

            with_reports.append(ProvinceStatus(**{**p.__dict__, "report_json": rel(p.latest_submission_id),
                                                  "arrival_report_json": rel(p.arrival_submission_id)}))
        provinces = with_reports
    c = counts_as_of(engine, today)
    counts = {r["province_code"]: {k: int(r[k]) for k in (*CLASS_LABELS, "total")}
              for r in c.by_province_class.to_dict("records")}
    return StatusPage(as_of=today, provinces=provinces, counts=counts,
                      national={k: int(v) for k, v in c.national.items()},
                      open_items=open_items(publications_root), deadline=check_deadline(engine, today).as_dict())


# --------------------------------------------------------------------------- rendering

def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _n(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def bar_chart_svg(page: StatusPage, width: int = 900, bar_height: int = 14) -> str:
    """Horizontal stacked bars, one per province (products by class), plus a legend."""
    label_w, pad, top = 110, 4, 28
    rows = page.provinces
    max_total = max([page.counts.get(p.code, {}).get("total", 0) for p in rows] + [1])
    plot_w = width - label_w - 60
    height = top + len(rows) * (bar_height + pad) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Official counts by province" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" '
             f'font-size="11">']
    x = label_w
    for key, label in CLASS_LABELS.items():
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{CLASS_COLOURS[key]}"/>'
                     f'<text x="{x + 16}" y="16">{_e(label)}</text>')
        x += 24 + 7 * len(label)
    for i, p in enumerate(rows):
        y = top + i * (bar_height + pad)
        c = page.counts.get(p.code, {})
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height - 3}" text-anchor="end">{_e(p.name)}</text>')
        x = float(label_w)
        for key in CLASS_LABELS:
            w = plot_w * c.get(key, 0) / max_total
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" '
                             f'fill="{CLASS_COLOURS[key]}"><title>{_e(p.name)}: {c.get(key, 0)} '
                             f'{_e(CLASS_LABELS[key])}</title></rect>')
                x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_height - 3}" class="total">{c.get("total", 0)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.2rem;color:#1a202c}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #cbd5e0;padding:.25rem .5rem}
th{background:#edf2f7;text-align:left}td.num{text-align:right}
tr.rejected td.outcome{color:#c53030;font-weight:600}tr.accepted td.outcome{color:#2f855a}
tr.stale td.days{color:#c53030;font-weight:600}.muted{color:#718096}
tr.late td.name{color:#c05621;font-weight:600}
.national{font-size:1rem;margin:.5rem 0}
.arrival{font-size:.8rem;color:#744210;margin-top:.2rem}
"""


def decisions_html(page: StatusPage, decisions_url: str) -> str:
    """Waiting decisions (with the link to Airflow's Required Actions) and late provinces."""
    items = "".join(f'<li class="{_e(i.get("kind"))}" data-key="{_e(i.get("key"))}">{_e(i.get("subject"))}</li>'
                    for i in page.open_items)
    d = page.deadline or {}
    late = d.get("late") or []
    if not d:
        late_html = ""
    elif not d.get("passed"):
        late_html = (f'<p id="deadline">Hạn nộp kỳ {_e(d.get("period"))}: {_e(d.get("deadline"))} '
                     '(chưa đến hạn).</p>')
    else:
        late_html = (f'<p id="deadline">Hạn nộp kỳ {_e(d.get("period"))}: {_e(d.get("deadline"))}. '
                     f'<b>{len(late)}</b> tỉnh/thành nộp muộn (chưa có bản chốt hợp lệ cho kỳ):</p>'
                     '<ul id="late">' + "".join(
                         f'<li data-province="{_e(x["province_code"])}">{_e(x["province_code"])} '
                         f'{_e(x["province_name"])}</li>' for x in late) + "</ul>")
    return (f'<h2>Chờ quyết định của Bộ</h2><p><a id="decisions" href="{_e(decisions_url)}" target="_top">'
            f'Mở các quyết định đang chờ trong Airflow (Required Actions)</a> — '
            f'{len(page.open_items)} mục rà soát chưa quyết định.</p>'
            + (f'<ul id="open-items">{items}</ul>' if items else "") + late_html)


def render_html(page: StatusPage, report_url: str = "reports/", stale_days: int = 120,
                decisions_url: str = "../required_actions?response_received=false") -> str:
    """The page. ``report_url`` is the (relative) URL prefix the report files are served under;
    ``decisions_url`` is Airflow's list of the decisions waiting for a person."""
    nat = page.national
    late_codes = {x["province_code"] for x in (page.deadline or {}).get("late") or []}
    lines = []
    for p in page.provinces:
        c = page.counts.get(p.code, {})
        stale = p.days_since_accepted is None or p.days_since_accepted > stale_days
        flagged = "rejected" if p.arrival_outcome == "rejected" else p.latest_outcome  # the latest arrival's red
        classes = " ".join(x for x in (flagged or "none", "stale" if stale else "",
                                       "arrival-differs" if p.arrival_note else "",
                                       "late" if p.code in late_codes else "") if x)
        report = (f'<a href="{_e(report_url + p.report_json)}">report.json</a>' if p.report_json else
                  '<span class="muted">–</span>')
        folder = f'<a href="{_e(report_url + p.code + "/")}">thư mục</a>'
        outcome = _e(p.latest_outcome or "chưa nộp")
        if p.latest_file_rule:
            outcome += f' <span class="muted">({_e(p.latest_file_rule)})</span>'
        lines.append(
            f'<tr class="{classes}" data-province="{_e(p.code)}">'
            f'<td>{_e(p.code)}</td><td class="name">{_e(p.name)}</td>'
            f'<td class="file">{_e(p.latest_file_name) or "–"}{_arrival_html(p, report_url)}</td>'
            f'<td>{_e(p.latest_received_at.strftime("%Y-%m-%d %H:%M") if p.latest_received_at else "–")}</td>'
            f'<td>{_e(p.latest_snapshot_date or "–")}</td><td class="outcome">{outcome}</td>'
            f'<td class="num">{_n(p.rows_received)}</td><td class="num">{_n(p.rows_accepted)}</td>'
            f'<td class="num">{_n(p.rows_warned)}</td><td class="num">{_n(p.rows_rejected)}</td>'
            f'<td>{_e(p.last_accepted_snapshot or "–")}</td>'
            f'<td class="num days">{_n(p.days_since_accepted)}</td>'
            f'<td>{report} · {folder}</td>'
            f'<td class="num count" data-total="{c.get("total", 0)}">{_n(c.get("total", 0))}</td></tr>')
    header = ("<tr><th>Mã</th><th>Tỉnh/thành</th><th>Tệp đang áp dụng</th><th>Nhận lúc (UTC)</th>"
              "<th>Ngày chốt</th><th>Kết quả</th><th>Dòng nhận</th><th>Hợp lệ</th><th>Cảnh báo</th>"
              "<th>Bị loại</th><th>Bản chốt hợp lệ gần nhất</th><th>Số ngày</th><th>Báo cáo</th>"
              "<th>Sản phẩm OCOP</th></tr>")
    summary = (f'<p class="national" id="national-total">Toàn quốc ngày {_e(page.as_of)}: '
               f'<b>{_n(nat.get("total", 0))}</b> sản phẩm OCOP còn hiệu lực — '
               + ", ".join(f'{_n(nat.get(k, 0))} {_e(v)}' for k, v in CLASS_LABELS.items()) + "</p>")
    return (
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
        "<title>OCOP: tình trạng nộp số liệu</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>OCOP: tình trạng nộp số liệu của 34 tỉnh/thành (ngày {_e(page.as_of)})</h1>"
        f"{summary}"
        f"<h2>Số sản phẩm chính thức theo tỉnh/thành</h2>{bar_chart_svg(page)}"
        f"<h2>Bản chốt đang áp dụng</h2><p class=\"muted\">Mỗi tỉnh: tệp hợp lệ có ngày chốt mới nhất "
        f"(số liệu chính thức lấy từ tệp này); tệp nhận sau cùng được ghi thêm khi đó là tệp khác. "
        f"Tô đỏ: tệp nhận sau cùng bị loại, hoặc không có bản chốt hợp lệ trong {stale_days} ngày.</p>"
        f"<table id=\"provinces\"><thead>{header}</thead><tbody>{''.join(lines)}</tbody></table>"
        f"{decisions_html(page, decisions_url)}"
        "</body></html>")


def _arrival_html(p: ProvinceStatus, report_url: str) -> str:
    """The latest arrival under the applied file, when it is another one, and why it is not applied."""
    if not p.arrival_note:
        return ""
    when = p.arrival_received_at.strftime("%Y-%m-%d %H:%M") if p.arrival_received_at else "–"
    report = (f' · <a href="{_e(report_url + p.arrival_report_json)}">report.json</a>'
              if p.arrival_report_json else "")
    return (f'<div class="arrival">Nhận sau cùng: {_e(p.arrival_file_name)} ({_e(when)}, ngày chốt '
            f'{_e(p.arrival_snapshot_date or "–")}, {_e(p.arrival_outcome)}){report}'
            f'<br><span class="note">{_e(p.arrival_note)}</span></div>')


def resolve_report_file(reports_root: Path, relative: str) -> Path | None:
    """A file under the reports folder named by a URL path, or None (no escaping the folder)."""
    root = Path(reports_root).resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        return None
    return target if target.exists() else None


def directory_listing_html(reports_root: Path, relative: str) -> str | None:
    folder = resolve_report_file(reports_root, relative)
    if folder is None or not folder.is_dir():
        return None
    rel = folder.relative_to(Path(reports_root).resolve()).as_posix()
    items = []
    for child in sorted(folder.iterdir()):
        name = child.name + ("/" if child.is_dir() else "")
        items.append(f'<li><a href="{_e(name)}">{_e(name)}</a></li>')
    return (f"<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{_e(rel)}</title>"
            f"<style>{_CSS}</style></head><body><h1>Báo cáo: {_e(rel)}/</h1>"
            f"<p><a href=\"../\">..</a></p><ul>{''.join(items)}</ul></body></html>")
