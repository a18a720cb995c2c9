"""`ocop dedupe review` and `ocop dedupe override`: a Ministry decision changes the products
now and survives later runs."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import sqlalchemy as sa

from ingest_files import write_xlsx
from ocop.warehouse import make_engine, schema

ROWS = [
    [1, "Mật ong bạc hà", "HTX Mật ong Mèo Vạc", "Thực phẩm", "4 sao", "1234/QĐ-UBND", dt.datetime(2024, 5, 12), "Hà Giang"],
    [2, "Chè Shan tuyết", "HTX Chè Cao Bồ", "Đồ uống", "3 sao", "567/QĐ-UBND", "03/07/2023", "Tuyên Quang"],
    [3, "Miến dong", "HTX Miến Bình Lư", "Thực phẩm", "3 sao", "89/QĐ-UBND", "01/02/2024", "Tuyên Quang"],
]


def ocop(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "ocop.cli", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def products(url: str) -> dict[int, int]:
    link = schema.record_link
    with make_engine(url).connect() as conn:
        return {r.row_id: r.product_id for r in conn.execute(sa.select(link.c.row_id, link.c.product_id))}


def test_override_merge_applies_now_and_survives_reruns(tmp_path):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    (inbox / "08").mkdir(parents=True)
    write_xlsx(inbox / "08" / "ds_2025-06-30.xlsx", rows=ROWS)
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    ocop("run", "--inbox", str(inbox), "--warehouse", url, "--home", str(home))
    before = products(url)
    assert len(set(before.values())) == 3
    assert "no borderline pairs" in ocop("dedupe", "review", "--warehouse", url, "--home", str(home))

    with make_engine(url).connect() as conn:
        sid = conn.scalar(sa.select(schema.submission.c.submission_id))
    out = ocop("dedupe", "override", "--a", f"{sid}#1", "--b", f"{sid}#2", "--action", "merge",
               "--who", "Văn phòng Điều phối NTM TW", "--why", "same product, two names", "--warehouse", url,
               "--home", str(home))
    assert "recorded: merge" in out
    after = products(url)
    assert after[1] == after[2] and after[0] != after[1]

    # A later snapshot (new file) rebuilds everything: the decision still holds.
    write_xlsx(inbox / "08" / "ds_2025-12-31.xlsx", rows=ROWS, title=False)
    ocop("run", "--inbox", str(inbox), "--warehouse", url, "--home", str(home))
    again = products(url)
    assert again[1] == again[2]
