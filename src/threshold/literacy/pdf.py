"""The personal report as a PDF, for a review conversation (fpdf2; the built-in Latin-1 fonts)."""

from __future__ import annotations

from threshold.literacy.report import DomainCount, PersonalReport

_LATIN = str.maketrans({"—": "-", "–": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...", "→": "->"})


def _latin(text: str) -> str:
    """The built-in fonts are Latin-1: other characters become '?' rather than failing the export."""
    return text.translate(_LATIN).encode("latin-1", "replace").decode("latin-1")


def _domains(counts: list[DomainCount]) -> str:
    return ", ".join(f"{c.domain} {c.people}" for c in counts) or "nobody yet"


def render(r: PersonalReport) -> bytes:
    """The report's sections, one line per item; the same figures as its JSON."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(_latin(f"Data use of {r.display_name}, {r.period}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 9, _latin(f"Data use of {r.display_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(
        0, 6, _latin(f"Period {r.period} ({r.start[:10]} to {r.end[:10]}, end excluded)"), new_x="LMARGIN", new_y="NEXT"
    )

    def section(title: str, lines: list[str], empty: str) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 13)
        pdf.multi_cell(0, 7, _latin(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for line in lines or [empty]:
            pdf.multi_cell(0, 5, _latin(line), new_x="LMARGIN", new_y="NEXT")

    section(
        f"Datasets used: {len(r.datasets_used)} ({r.queries} queries)",
        [f"{u.dataset}: {u.queries} queries" for u in r.datasets_used],
        "No data used in this period.",
    )
    section(
        f"Insights: {len(r.insights)}",
        [
            f"{i.title}: {i.viewers} viewers ({_domains(i.by_domain)})"
            + (f" - {', '.join(i.names)}" if i.names else "")
            for i in r.insights
        ],
        "No insights yet.",
    )
    section(
        f"Data shared: {len(r.shared)}",
        [
            f"{d.dataset}: {d.consumers} people, {d.queries} queries ({_domains(d.by_domain)})"
            + (f" - {', '.join(d.names)}" if d.names else "")
            for d in r.shared
        ],
        "No data shared yet.",
    )
    section(
        "Contributions",
        [
            f"Datasets described: {r.descriptions}",
            f"Glossary terms written: {r.terms}",
            f"Incidents fixed: {r.incidents_fixed}",
        ],
        "",
    )
    section(
        "Learning",
        [
            line
            for learning in r.learning
            for line in [f"{learning.track}: {learning.done} of {learning.total} tasks done"]
            + [f"  {d.at[:10]} {d.task} ({d.by})" for d in learning.in_period]
        ],
        "No learning track.",
    )
    return bytes(pdf.output())
