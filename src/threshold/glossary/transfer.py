"""The glossary as CSV: export what a person may see, import many proposals at once (all rows or none).

Columns: `term, domain, definition, synonyms, status` (`synonyms` separated by `;`; `status` is written on
export and ignored on import). Imported rows are proposals like any other (in review, or drafts): the
glossary's review decides what is in force, whoever imports. A row equal to the text in force proposes
nothing. Values a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return) are
exported with a leading `'` (OWASP's advice) and read back without it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from threshold.access import require
from threshold.errors import InvalidInput, ThresholdError
from threshold.glossary import service
from threshold.identity.service import Person
from threshold.platform import Platform

HEADER = ("term", "domain", "definition", "synonyms", "status")
MAX_ROWS = 5_000
MAX_BYTES = 5 * 1024 * 1024
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ImportReport:
    proposed: list[str] = field(default_factory=list)
    """Terms proposed (new terms and edits), in file order."""
    unchanged: list[str] = field(default_factory=list)
    """Rows equal to the text in force: nothing proposed."""


def export_csv(platform: Platform, person: Person) -> str:
    """Every term `person` may see, as CSV text."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for t in service.listing(platform, person, limit=1_000_000).terms:
        w.writerow([_cell(v) for v in (t.title, t.domain, t.definition, "; ".join(t.synonyms), t.status)])
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA) else value


def _uncell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:2] != "" and value[1:2] in _FORMULA else value


def import_csv(platform: Platform, person: Person, text: str, *, submit: bool = True) -> ImportReport:
    """Propose every row of `text` in one transaction: one bad row (its line named) and nothing is proposed."""
    require(person, "glossary.propose")
    if len(text) > MAX_BYTES:
        raise InvalidInput(f"a glossary import has at most {MAX_BYTES // (1024 * 1024)} MB")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        fields = [f.strip().lower() for f in reader.fieldnames or []]
    except csv.Error as e:
        raise InvalidInput(f"line 1: not CSV ({e})") from None
    if "term" not in fields or "definition" not in fields:
        raise InvalidInput("a glossary CSV needs the columns term and definition (and domain, synonyms)")
    reader.fieldnames = fields
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"a glossary import has at most {MAX_ROWS:,} rows")
            if None in row:
                raise InvalidInput(f"line {reader.line_num}: more values than columns")
            clean = {k: _uncell((v or "").strip()) for k, v in row.items() if k}
            if any(clean.values()):
                rows.append((reader.line_num, clean))
    except csv.Error as e:
        raise InvalidInput(f"line {reader.line_num}: not CSV ({e})") from None
    if not rows:
        raise InvalidInput("the glossary CSV has no rows")
    seen: dict[str, int] = {}
    report = ImportReport()
    with platform.store.session() as s:
        for line, row in rows:
            synonyms = [w for w in (row.get("synonyms") or "").split(";") if w.strip()]
            try:
                text_ = service.checked(row.get("term", ""), row.get("definition", ""), synonyms, "")
                key = service.term_key(text_["title"])
                if key in seen:
                    raise InvalidInput(f"{text_['title']!r} is also on line {seen[key]}")
                seen[key] = line
                if service.in_force(s, key) == (text_["title"], text_["definition"], text_["synonyms"]):
                    report.unchanged.append(text_["title"])
                    continue
                service.propose_in(
                    s,
                    person,
                    text_["title"],
                    definition=text_["definition"],
                    domain=row.get("domain") or None,
                    synonyms=text_["synonyms"],
                    note="imported from CSV",
                    submit=submit,
                )
            except ThresholdError as e:
                raise type(e)(f"line {line}: {e}") from None
            report.proposed.append(text_["title"])
    if submit:
        service.tell_reviewers(platform, person, [service.term_key(t) for t in report.proposed])
    return report
