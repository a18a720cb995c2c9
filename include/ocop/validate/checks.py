"""Documented pandas checks: the narrow "check frame" the GX suites validate.

GX validates single columns well; several rules are about two columns at once (a rating that
was written but not recognised, a 5-star row's issuing level, a date given in the number
cell). For those, one vectorised pandas expression per rule derives a helper column whose
values GX then checks with a built-in expectation, so every rule is still reported through GX
with the row ids of the offending rows:

============================  ==========================================================
check column                  derived as
============================  ==========================================================
required fields               the record column, blank text -> null (``NotBeNull``)
``decision_date_given``       ``decision_date_raw``, else the date found in the number cell
``rating``                    ``rating_class``, else the unrecognised ``rating_raw`` text
``group``                     ``group_code`` as text, else the unrecognised ``group_raw``
``decision_date_text``        ``decision_date`` (ISO), else the unparseable raw text
``decision_dt``               ``decision_date`` as a datetime
``decision_days_after_snapshot``  days from the row's snapshot date to ``decision_date``
``expiry_days_after_snapshot``    days from the row's snapshot date to ``expiry_date``
``row_province_foreign``      ``row_province_code`` (``"?<text>"`` when unresolved) when it is
                              not the submitting province, else null
``five_star_level``           ``issuing_level`` ("" when none) of 5-star rows, else null
``decision_no_ok``            ``decision_no_well_formed(decision_no)`` (null when blank)
``legacy_converted``          ``legacy_encoding`` set and not ``legacy_failed``
``dup_conflict_<field>``      the (owner key, product key) group disagrees on that field
``dup_repeat``                2nd+ copy of a group whose copies all agree
============================  ==========================================================

Duplicates are judged only among rows that no other rule rejects, so they need the first
pass's outcome: :func:`duplicate_frame` builds the frame of the second (duplicates) suite.

Both frames may hold several submissions stacked (one validation per run): the snapshot date
and the submitting province are then given per row, and duplicates are grouped within a
submission only (``group``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from ocop.dedupe.normalize import owner_key, product_key
from ocop.ingest.values import decision_no_well_formed
from ocop.validate.rules import DECISION_DATE_FIELD, REQUIRED_FIELDS

# Facts a duplicate's copies must agree on; a disagreement is reported on the raw column.
DUPLICATE_FACTS = {"rating_class": "rating_raw", "decision_no": "decision_no_raw", "decision_date": "decision_date_raw"}


def _blank_to_null(s: pd.Series) -> pd.Series:
    """Text column with blank / whitespace-only cells as null (object dtype)."""
    s = s.astype(object)
    return s.where(s.notna() & s.astype(str).str.strip().ne(""), None)


def _per_value(s: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """``fn`` applied once per distinct non-null value (registers repeat values a lot)."""
    values = {v: fn(v) for v in pd.unique(s.dropna())}
    return s.map(values).astype(object).where(s.notna(), None)


def check_frame(records: pd.DataFrame, snapshot, province) -> pd.DataFrame:
    """The first-pass check frame (row_id + one column per check), built from the records.

    ``snapshot`` (a date or datetimes per row) and ``province`` (a code or codes per row): the
    snapshot date and the submitting province of each row's submission."""
    r = records
    out = pd.DataFrame({"row_id": r["row_id"].to_numpy()}, index=r.index)
    for f in (*REQUIRED_FIELDS, DECISION_DATE_FIELD):
        out[f] = _blank_to_null(r[f])
    date_raw = out.pop(DECISION_DATE_FIELD)
    out["decision_date_given"] = date_raw.where(date_raw.notna(), r["decision_date"].astype(object))
    out["rating"] = r["rating_class"].astype(object).where(r["rating_class"].notna(), out["rating_raw"])
    group = r["group_code"].astype("Int64").astype(str).astype(object)
    out["group"] = group.where(r["group_code"].notna(), out["group_raw"])
    out["decision_date_text"] = r["decision_date"].astype(object).where(r["decision_date"].notna(), date_raw)
    out["decision_dt"] = pd.to_datetime(r["decision_date"], errors="coerce", format="ISO8601")
    snapshot = pd.to_datetime(snapshot) if not isinstance(snapshot, pd.Series) else snapshot
    expiry_dt = pd.to_datetime(r["expiry_date"], errors="coerce", format="ISO8601")
    day = pd.Timedelta(days=1)
    out["decision_days_after_snapshot"] = ((out["decision_dt"] - snapshot) / day).astype("float64")
    out["expiry_days_after_snapshot"] = ((expiry_dt - snapshot) / day).astype("float64")
    out["status"] = r["status"].astype(object)
    unresolved = r["row_province_unresolved"].fillna(False).astype(bool)
    submitting = province
    province = r["row_province_code"].astype(object)
    row_province = province.where(~unresolved, "?" + r["province_raw"].astype(str))
    own = row_province.eq(submitting).fillna(False).astype(bool)
    out["row_province_foreign"] = row_province.where(~own, None)
    level = r["issuing_level"].astype(object).fillna("")
    out["five_star_level"] = level.where(r["rating_class"].eq("5").fillna(False).astype(bool), None)
    out["legacy_failed"] = r["legacy_failed"].fillna(False).astype(bool)
    out["legacy_converted"] = r["legacy_encoding"].notna() & ~out["legacy_failed"]
    out["owner_type_inferred"] = r["owner_type_inferred"].fillna(False).astype(bool)
    decision_no = _blank_to_null(r["decision_no"]).where(lambda s: s.notna(), out["decision_no_raw"])
    out["decision_no_ok"] = _per_value(decision_no, decision_no_well_formed)
    return out


log = logging.getLogger("ocop.validate")

# From this many distinct owners + product names, their matching keys (pure Python, ~30 us an
# owner) are computed in a forked process while the first suite runs (see DuplicateKeys).
PARALLEL_KEYS_FROM = 50_000


def _key_maps(owners: list, products: list) -> tuple[dict, dict]:
    return {o: owner_key(o) for o in owners}, {p: product_key(p) for p in products}


def _distinct(s: pd.Series) -> list:
    return list(pd.unique(_blank_to_null(s).dropna()))


class DuplicateKeys:
    """The owner and product keys of a large frame's distinct values, for :func:`duplicate_frame`.

    From :data:`PARALLEL_KEYS_FROM` rows (and distinct values), on a machine of two cores or
    more, the keys are computed in a forked process started here, so that they are worked out
    on another core while the caller runs the first suite; :meth:`maps` waits for them (and
    computes them here should that process fail). For a smaller frame nothing is done ahead:
    :func:`duplicate_frame` keys the rows it judges, in this process."""

    def __init__(self, records: pd.DataFrame):
        self._pool = self._future = None
        if len(records) < PARALLEL_KEYS_FROM or (os.cpu_count() or 1) < 2:
            self.owners = self.products = None
            return
        self.owners, self.products = _distinct(records["owner"]), _distinct(records["product_name"])
        if len(self.owners) + len(self.products) >= PARALLEL_KEYS_FROM:
            try:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
                self._future = self._pool.submit(_key_maps, self.owners, self.products)
            except Exception:  # no fork here: computed in this process
                log.warning("matching keys could not be computed in a second process", exc_info=True)
                self.close()

    def maps(self) -> tuple[dict, dict] | None:
        """``({owner: key}, {product name: key})``, or None for a small frame (no keys ahead)."""
        if self.owners is None:
            return None
        try:
            if self._future is not None:
                try:
                    return self._future.result()
                except Exception:
                    log.warning("matching keys could not be computed in a second process", exc_info=True)
            return _key_maps(self.owners, self.products)
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._future = None


def duplicate_frame(records: pd.DataFrame, rejected: pd.Series, group: pd.Series | None = None,
                    keys: DuplicateKeys | None = None) -> pd.DataFrame:
    """The second-pass check frame: duplicate flags among rows not rejected by another rule
    (``group``: the submission of each row, when several are stacked; ``keys``: the keys of
    ``records``' owners and products, when worked out ahead)."""
    out = pd.DataFrame({"row_id": records["row_id"].to_numpy()}, index=records.index)
    keep = ~rejected.to_numpy()
    cand = records.loc[keep, ["owner", "product_name", *DUPLICATE_FACTS]]  # (not the wide raw_json)
    maps = keys.maps() if keys is not None else None
    if maps is None:
        key = _per_value(_blank_to_null(cand["owner"]), owner_key) + "\x1f" + _per_value(
            _blank_to_null(cand["product_name"]), product_key)
    else:
        owners, products = maps
        owner, product = _blank_to_null(cand["owner"]), _blank_to_null(cand["product_name"])
        key = (owner.map(owners).astype(object).where(owner.notna(), None) + "\x1f"
               + product.map(products).astype(object).where(product.notna(), None))
    if group is not None:
        key = pd.Series(group.to_numpy()[keep], index=cand.index).astype(str) + "\x1e" + key
    key = key.dropna()
    cand = cand.loc[key.index]
    conflict = pd.Series(False, index=cand.index)
    for fact, raw in DUPLICATE_FACTS.items():
        values = cand[fact].astype(object).fillna("\x00")  # a blank differs from a value
        flag = values.groupby(key, sort=False).transform("nunique").gt(1)
        out[f"dup_conflict_{raw}"] = flag.reindex(out.index, fill_value=False)
        conflict |= flag
    repeat = key.groupby(key, sort=False).cumcount().gt(0) & ~conflict
    out["dup_repeat"] = repeat.reindex(out.index, fill_value=False)
    return out
