"""How often search finds what people mean: the labelled queries in `tests/fixtures/search/queries.tsv`
over the demo (plus two German exports), the share with the right dataset in the top 3 printed and held
at 90% or more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demohome import demo_at_rest
from threshold.catalog.search import search
from threshold.identity.service import get_person
from threshold.platform import Platform
from threshold.sharing.service import share

CASES = Path(__file__).parents[1] / "fixtures" / "search" / "queries.tsv"
GOAL = 0.90

GERMAN_EXPORTS = {
    ("finance", "buchungsjournal", "admin"): (
        "Belegnummer;Buchungsdatum;Kostenstelle;Sachkonto;Betrag;Umsatzsteuer\n"
        "B-1001;02.11.2026;4711;6300;1.234,56;234,57\n"
        "B-1002;03.11.2026;4712;6800;99,90;18,98\n"
    ),
    ("manufacturing", "schichtbericht", "admin"): (
        "Schicht;Linie;Stückzahl;Ausschussquote;Stillstand Minuten\nFrüh;L1;1200;0,04;35\nSpät;L2;980;0,06;80\n"
    ),
}


def _cases() -> list[tuple[str, str]]:
    lines = CASES.read_text(encoding="utf-8").splitlines()
    return [(q, ds) for q, ds in (line.split("\t") for line in lines if line and not line.startswith("#"))]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A copy of the run's demo home (`tests/demohome.py`, the one tests/demo/test_demo.py reads) with the
    two German exports shared into it."""
    tmp = tmp_path_factory.mktemp("search_demo")
    platform = demo_at_rest(tmp_path_factory).copy(tmp / "home")
    for (domain, name, sharer), text in GERMAN_EXPORTS.items():
        path = tmp / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        share(platform, path, domain=domain, name=name, user=get_person(platform, sharer))
    try:
        yield platform
    finally:
        platform.close()


def test_the_labelled_set_is_big_and_names_real_datasets(demo: Platform) -> None:
    cases = _cases()
    assert len(cases) >= 60
    known = {r["name"] for r in search(demo, None, per_page=1000).results}
    assert {ds for _, ds in cases} <= known


@pytest.mark.slow
def test_the_right_dataset_is_in_the_top_3_for_90_percent_of_queries(demo: Platform) -> None:
    cases = _cases()
    missed = []
    for q, expected in cases:
        top = [r["name"] for r in search(demo, q, per_page=3).results]
        if expected not in top:
            missed.append(f"{q!r}: wanted {expected}, got {top}")
    share_found = 1 - len(missed) / len(cases)
    print(f"\nsearch: right dataset in the top 3 for {share_found:.1%} of {len(cases)} labelled queries")
    for line in missed:
        print("  missed", line)
    assert share_found >= GOAL, missed
