"""One validation per run: ``validate_many`` over every submission of a generated national
sample gives each province the same reports, cell for cell, as validating its file alone."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from ocop.generate import generate
from ocop.ingest.parse import parse_file
from ocop.report import write_reports
from ocop.validate.run import validate, validate_many
from ocop.validate.rules import RULES
from ocop.validate.testing import make_parsed
from report_readback import report_content

ARRIVED = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def parsed_sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    generate(out, seed=7, scale=0.1)
    parsed = []
    for f in sorted((out / "inbox").glob("*/*")):
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        parsed.append(parse_file(f, province_code=f.parent.name, file_name=f.name, sha256=sha,
                                 submission_id=f"{f.parent.name}-{sha[:16]}", arrived_at=ARRIVED))
    return parsed


def _chosen(batch) -> list[int]:
    """Submissions that between them raise every rule the sample raises, the rejected files,
    and the first three: validated alone, they are the "before" of the comparison."""
    need = {code for v in batch for code in v.counts["by_rule"]}
    chosen = {0, 1, 2} | {i for i, v in enumerate(batch) if v.file_rule}
    need -= {code for i in chosen for code in batch[i].counts["by_rule"]}
    while need:
        i = max(range(len(batch)), key=lambda i: len(need & set(batch[i].counts["by_rule"])))
        chosen.add(i)
        need -= set(batch[i].counts["by_rule"])
    return sorted(chosen)


def test_one_validation_per_run_gives_every_report_unchanged(parsed_sample, tmp_path):
    batch = validate_many(parsed_sample)
    assert [v.parsed for v in batch] == parsed_sample
    raised = {code for v in batch for code in v.counts["by_rule"]}
    row_rules = {r.code for r in RULES if r.level != "file"}
    assert len(raised) >= len(row_rules) - 1, row_rules - raised  # the sample exercises the rules
    assert any(v.file_rule == "F_TOO_MANY_REJECTED" for v in batch)  # and the > 50 % rule per file
    assert sum(len(v.issues) for v in batch) > 1000

    for i in _chosen(batch):
        alone = validate(parsed_sample[i])
        a = write_reports(alone, tmp_path / "alone" / str(i))
        b = write_reports(batch[i], tmp_path / "batch" / str(i))
        assert report_content(a["json"].parent) == report_content(b["json"].parent), parsed_sample[i].file_name
        assert alone.counts == batch[i].counts and alone.file_outcome == batch[i].file_outcome
        assert alone.issues.equals(batch[i].issues) or alone.issues.astype(object).equals(
            batch[i].issues.astype(object))


def test_submissions_of_one_batch_are_judged_each_against_their_own_province_and_date():
    row = {"product_name": "Mật ong", "owner": "HTX A", "decision_date_raw": "01/03/2025", "province_raw": "Hà Nội"}
    a = make_parsed([row, row], submission_id="01-a", province_code="01", snapshot_date="2025-06-30")
    b = make_parsed([row], submission_id="48-b", province_code="48", snapshot_date="2025-01-31")
    va, vb = validate_many([a, b])
    # The same product twice in 01's file is a duplicate; 48's copy is not a duplicate of it.
    assert va.counts["by_rule"] == {"W_DUPLICATE_IDENTICAL": 1}
    # 48 sent a row of province 01, dated after 48's own snapshot.
    assert set(vb.counts["by_rule"]) == {"R_PROVINCE_MISMATCH", "R_DATE_AFTER_SNAPSHOT"}
    assert list(vb.issues["row_id"].unique()) == [0] and vb.counts["rejected"] == 1
    assert [v.counts for v in (va, vb)] == [validate(a).counts, validate(b).counts]


def test_one_broken_submission_does_not_stop_the_others_validation(tmp_path):
    """Should the stacked validation fail (here: an owner cell holding a dict, which no parser
    makes), each submission is validated alone: the good one as usual, the broken one rejected."""
    import pickle

    from ocop import pipeline
    from ocop.config import Settings

    good = make_parsed([{}, {"rating_raw": "6 sao"}], submission_id="01-good")
    broken = make_parsed([{}], submission_id="48-broken", province_code="48")
    broken.records["owner"] = [{"not": "text"}]
    refs = []
    for p in (good, broken):
        work = tmp_path / p.submission_id
        work.mkdir()
        meta = {"submission_id": p.submission_id, "province_code": p.province_code, "file_name": p.file_name,
                "sha256": p.sha256, "snapshot_date": p.snapshot_date}
        (work / "parsed.pkl").write_bytes(pickle.dumps({"meta": meta, "parsed": p, "validated": None}))
        refs.append({"submission_id": p.submission_id, "work": str(work), "province_code": p.province_code,
                     "file_name": p.file_name})
    settings = Settings.from_env(home=tmp_path / "home")
    pipeline.validate_submissions(refs, settings, tmp_path)
    done = [pickle.loads((tmp_path / r["submission_id"] / "validated.pkl").read_bytes())["validated"] for r in refs]
    assert done[0].file_outcome == "accepted" and done[0].counts["by_rule"] == {"R_RATING_INVALID": 1}
    assert done[0].counts == validate(good).counts
    assert (done[1].file_outcome, done[1].file_rule) == ("rejected", "F_UNREADABLE")
    assert "TypeError" in done[1].file_detail
