"""The rule table: complete against docs/architecture.md, Vietnamese, and docs/rules.md in sync."""

import re
from pathlib import Path

from ocop.validate.rules import RULES, rule, rules_markdown
from ocop.validate.suite import DUPLICATES_SUITE, ROWS_SUITE, build_suite, row_rule_codes

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_architecture_rule_code_is_in_the_table_once():
    documented = re.findall(r"^\| `([FRW]_[A-Z_]+)` \| (file|reject|warning) \|", (DOCS / "architecture.md").read_text(),
                            re.M)
    table = [(r.code, r.level) for r in RULES]
    assert sorted(table) == sorted(documented)
    assert len({r.code for r in RULES}) == len(RULES)


def test_messages_are_vietnamese_with_a_fix():
    for r in RULES:
        assert re.search(r"[ạảãàáâầấậẩẫăằắặẳẵêềếệểễôồốộổỗơờớợởỡưừứựửữđ]", r.message_vi.lower()), r.code
        assert r.fix_vi and r.message_en
    assert rule("R_RATING_INVALID").message_vi.startswith("Hạng sao không hợp lệ")


def test_docs_rules_md_is_generated_from_the_table():
    assert (DOCS / "rules.md").read_text(encoding="utf-8") == rules_markdown()


def test_suites_cover_every_row_rule_with_rule_and_field_meta():
    covered = set()
    for name in (ROWS_SUITE, DUPLICATES_SUITE):
        for e in build_suite(name).expectations:
            assert set(e.meta) == {"rule", "field"}
            covered.add(e.meta["rule"])
    assert covered == set(row_rule_codes())
