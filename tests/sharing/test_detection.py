"""Sensitive-data detection, specified by labelled columns in tests/fixtures/detection/cases.yaml.

The fixture is the specification: add a case there, not here. This file scores every case
(precision and recall per tag, printed as a table) and holds the bars the detectors must meet.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from threshold.sharing.detection import detect_column
from threshold.sharing.detectors import DETECTORS
from threshold.sharing.detectors.checksums import eleven_test, luhn_valid, mod11_10_digit, mod97
from threshold.sharing.detectors.iban import iban_valid
from threshold.sharing.detectors.national_id import (
    bsn_valid,
    dni_valid,
    nino_valid,
    nir_valid,
    personnummer_valid,
    ssn_valid,
    steuer_id_valid,
)

CASES_FILE = Path(__file__).parent.parent / "fixtures" / "detection" / "cases.yaml"
# libyaml's safe loader (the same values): every xdist worker imports this module to collect the suite, and
# the 110 kB of cases took 0.2 s each in the pure-Python one.
CASES: list[dict[str, Any]] = yaml.load(CASES_FILE.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
TAGS = sorted({d.tag for d in DETECTORS})

MIN_PRECISION = 0.95
MIN_RECALL = 0.90


def _label(case: dict[str, Any]) -> str:
    return f"{case['name']}:{'+'.join(case['expect']) or 'none'}"


def _detected(case: dict[str, Any]) -> set[str]:
    return {d.tag for d in detect_column(case["name"], case["values"], case.get("dtype"))}


def _score() -> tuple[dict[str, Counter[str]], list[str]]:
    """Per tag: true positives, false positives, false negatives; and a line per wrong case."""
    counts: dict[str, Counter[str]] = {tag: Counter() for tag in TAGS}
    wrong = []
    for case in CASES:
        expected, found = set(case["expect"]), _detected(case)
        for tag in expected & found:
            counts[tag]["tp"] += 1
        for tag in found - expected:
            counts[tag]["fp"] += 1
        for tag in expected - found:
            counts[tag]["fn"] += 1
        if expected != found:
            wrong.append(f"  {case['name']!r}: expected {sorted(expected)}, found {sorted(found)}")
    return counts, wrong


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def _row(tag: str, c: Counter[str], precision: float, recall: float) -> str:
    return f"{tag:<22} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4} {precision:>10.3f} {recall:>8.3f}"


def _table(counts: dict[str, Counter[str]]) -> tuple[str, float, float]:
    lines = [f"{'tag':<22} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}"]
    total: Counter[str] = Counter()
    for tag in TAGS:
        c = counts[tag]
        total.update(c)
        precision, recall = _ratio(c["tp"], c["tp"] + c["fp"]), _ratio(c["tp"], c["tp"] + c["fn"])
        lines.append(_row(tag, c, precision, recall))
    precision = _ratio(total["tp"], total["tp"] + total["fp"])
    recall = _ratio(total["tp"], total["tp"] + total["fn"])
    lines.append(_row("overall", total, precision, recall))
    return "\n".join(lines), precision, recall


def test_the_fixture_covers_every_tag_with_positives_and_hard_negatives() -> None:
    assert len(CASES) >= 80
    expected = Counter(tag for case in CASES for tag in case["expect"])
    assert all(expected[tag] >= 4 for tag in TAGS), expected
    assert sum(1 for case in CASES if case.get("strict")) >= 30
    assert not {tag for case in CASES for tag in case["expect"]} - set(TAGS)


def test_detection_meets_precision_and_recall_bars() -> None:
    counts, wrong = _score()
    table, precision, recall = _table(counts)
    print(f"\nsensitive-data detection on {len(CASES)} labelled columns ({CASES_FILE.name})\n{table}")
    if wrong:
        print("cases that differ from the expectation:\n" + "\n".join(wrong))
    assert precision >= MIN_PRECISION, f"precision {precision:.3f} < {MIN_PRECISION}\n{table}"
    assert recall >= MIN_RECALL, f"recall {recall:.3f} < {MIN_RECALL}\n{table}"


@pytest.mark.parametrize("case", [c for c in CASES if c.get("strict")], ids=_label)
def test_hard_negative_gets_no_tag(case: dict[str, Any]) -> None:
    assert _detected(case) == set()


@pytest.mark.parametrize("case", CASES, ids=_label)
def test_reason_never_quotes_a_value(case: dict[str, Any]) -> None:
    for detection in detect_column(case["name"], case["values"], case.get("dtype")):
        assert 0.0 < detection.confidence <= 1.0
        assert detection.reason and "\n" not in detection.reason
        reason = detection.reason.lower()
        for value in case["values"]:
            text = str(value).strip().lower()
            # Counts and percentages are numbers too: only numbers longer than any count can leak.
            if len(text) >= 5 or (len(text) >= 3 and not text.isdigit()):
                assert text not in reason, f"{detection.tag} reason quotes a sampled value"


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")
    assert luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("4111-1111")


def test_mod97_and_iban() -> None:
    assert mod97("3704004405320130" + "00" + "DE89") == 1
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert iban_valid("GB82WEST12345698765432")
    assert iban_valid("NL91ABNA0417164300")
    assert iban_valid("FR1420041010050500013M02606")
    assert not iban_valid("DE89 3704 0044 0532 0130 01")  # check digits do not match
    assert not iban_valid("DE89370400440532013")  # too short for Germany
    assert not iban_valid("RF18539007547034")  # creditor reference: mod-97 but no country


def test_other_check_digits() -> None:
    assert eleven_test("111222333") and eleven_test("123456782")
    assert not eleven_test("123456789")
    assert mod11_10_digit("8609574271") == 9  # German tax id 86095742719, the usual published example


# (check, valid examples (published ones where they exist), invalid ones)
NATIONAL_ID_EXAMPLES: list[tuple[Any, list[str], list[str]]] = [
    (
        ssn_valid,
        ["123-45-6789", "001-01-0001"],
        ["666-12-3456", "000-12-3456", "123-00-4567", "900-12-3456"],
    ),
    (nino_valid, ["AB 12 34 56 C", "ce123456d"], ["GB123456A", "AB123456E", "DA123456A"]),
    (bsn_valid, ["111222333", "1112.22.333"], ["123456789", "000000000"]),
    (personnummer_valid, ["811228-9874", "19811228-9874"], ["811228-9875", "811328-9874"]),
    (
        nir_valid,
        ["2 55 08 14 168 025 38", "269054958815780"],
        ["2 55 08 14 168 025 39", "5 55 08 14 168 025 38"],
    ),
    (steuer_id_valid, ["86095742719", "86 095 742 719"], ["86095742718", "12345678903", "06095742719"]),
    (dni_valid, ["12345678Z", "X1234567L"], ["12345678A", "X12345678L"]),
]


@pytest.mark.parametrize(
    ("valid", "good", "bad"), NATIONAL_ID_EXAMPLES, ids=[e[0].__name__ for e in NATIONAL_ID_EXAMPLES]
)
def test_national_id_schemes(valid: Any, good: list[str], bad: list[str]) -> None:
    assert all(valid(v) for v in good), good
    assert not any(valid(v) for v in bad), bad
