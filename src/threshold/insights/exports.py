"""Exports so PowerPoint and Excel are not needed: an insight or a board as PPTX (a slide per insight: title,
chart, key numbers, narrative, provenance in the notes), XLSX (the data and a native, editable Excel chart),
PDF, and an insight's chart as PNG or SVG.

Every export computes (or reuses) the result through the gateway as the person asking, exactly as the
insight page does: masked values stay masked, and the masks that applied are written into the file
(slide notes, an "About" sheet, a PDF footer) and returned with it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from threshold.errors import InvalidInput
from threshold.formulas import NEUTRALISED, neutralise
from threshold.identity.service import Person
from threshold.insights import boards, charts, narrative, service
from threshold.insights.formatting import KeyNumber, key_numbers, resolve_locale
from threshold.insights.results import result_for
from threshold.platform import Platform

INSIGHT_FORMATS = ("pptx", "xlsx", "pdf", "png", "svg")
BOARD_FORMATS = ("pptx", "xlsx", "pdf")
MEDIA_TYPES = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "png": "image/png",
    "svg": "image/svg+xml",
}
NATIVE_CHARTS = {"bar": "column", "line": "line", "scatter": "scatter", "heatmap": "column"}
"""The native Excel chart of each kind (Excel has no heat map: its rows become the series of a column chart)."""
MAX_SERIES = 50
MAX_PIVOT = 10_000
"""Colour values and rows a native Excel chart takes (the data sheet keeps every row)."""


@dataclass
class Slide:
    """One insight's result as the person sees it, ready for any format."""

    id: int
    title: str
    narrative: str
    table: pa.Table
    chart: charts.ChartSpec
    png: bytes | None
    svg: str | None
    numbers: list[KeyNumber]
    masks: list[str]
    sql: str
    snapshots: dict[str, int | None]
    computed_at: str
    values: dict[str, Any]
    owner: str


@dataclass
class Export:
    filename: str
    media_type: str
    content: bytes
    masks: list[str] = field(default_factory=list)
    """Which masks and filters applied to what was exported (one line each)."""


def export_insight(
    platform: Platform,
    person: Person,
    ref: int | str,
    fmt: str,
    *,
    values: dict[str, Any] | None = None,
    locale: str | None = None,
    interface: str = "python",
) -> Export:
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in INSIGHT_FORMATS:
        raise InvalidInput(f"an insight exports as {', '.join(INSIGHT_FORMATS)}, not {fmt[:20]!r}")
    slide = _slide(platform, person, ref, values, locale, interface, picture=fmt in ("pptx", "xlsx", "pdf", "png"))
    name = _filename(slide.title)
    if fmt in ("png", "svg"):
        if slide.chart.kind == "table":
            raise InvalidInput("this result has no chart to export as an image: export it as xlsx, pptx or pdf")
        body = slide.png if fmt == "png" else (slide.svg or "").encode()
        return Export(f"{name}.{fmt}", MEDIA_TYPES[fmt], body or b"", slide.masks)
    return Export(f"{name}.{fmt}", MEDIA_TYPES[fmt], _WRITERS[fmt](slide.title, [slide]), slide.masks)


def export_board(
    platform: Platform,
    person: Person,
    ref: int | str,
    fmt: str,
    *,
    value: Any = None,
    locale: str | None = None,
    interface: str = "python",
) -> Export:
    """The board's insights that `person` may view, in order, with the board's shared value."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in BOARD_FORMATS:
        raise InvalidInput(f"a board exports as {', '.join(BOARD_FORMATS)} (export one insight for an image)")
    card = boards.card(platform, person, ref)
    slides = []
    for insight_id in boards.visible_items(platform, person, card.id):
        given = boards.values_for_insight(platform, person, card, insight_id, value)
        slides.append(_slide(platform, person, insight_id, given, locale, interface, picture=True))
    masks = sorted({m for s in slides for m in s.masks})
    return Export(f"{_filename(card.title)}.{fmt}", MEDIA_TYPES[fmt], _WRITERS[fmt](card.title, slides), masks)


def _slide(
    platform: Platform,
    person: Person,
    ref: int | str,
    values: dict[str, Any] | None,
    locale: str | None,
    interface: str,
    *,
    picture: bool,
) -> Slide:
    insight, version = service.load_for(platform, person, ref)
    computed = result_for(platform, person, insight, version, values, interface=interface)
    spec, svg = service.chart_of(platform, computed, version)
    chosen = resolve_locale(locale, platform.settings.insights.locale)
    png = charts.png(computed.table, spec) if picture and spec.kind != "table" else None
    owner = service.detail(platform, person, insight.id).owner
    return Slide(
        insight.id,
        version.title,
        narrative.to_text(version.narrative),
        computed.table,
        spec,
        png,
        svg,
        key_numbers(computed.table, spec.x, spec.y, chosen),
        list(computed.notes),
        computed.sql,
        dict(computed.snapshots),
        computed.computed_at.isoformat(timespec="seconds"),
        dict(computed.values),
        owner,
    )


def provenance(slide: Slide) -> list[str]:
    """Where the numbers come from, one line each (slide notes, the About sheet, the PDF footer)."""
    lines = [f"Insight {slide.id} by {slide.owner}, computed {slide.computed_at} through the Threshold gateway."]
    if slide.values:
        lines.append("Parameters: " + ", ".join(f"{k} = {v}" for k, v in sorted(slide.values.items())))
    lines += [f"Read {d} at snapshot {snap}" for d, snap in sorted(slide.snapshots.items())]
    lines += [f"Mask: {m}" for m in slide.masks] or ["No masks or filters applied."]
    lines.append("SQL: " + " ".join(slide.sql.split()))
    return lines


# --- PowerPoint ----------------------------------------------------------------------------------------


def _pptx(title: str, slides: list[Slide]) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    blank = deck.slide_layouts[6]
    if len(slides) != 1:
        cover = deck.slides.add_slide(blank)
        _text(cover, title, Inches(0.6), Inches(2.8), Inches(12), Inches(1.2), Pt(40), bold=True)
        _text(cover, f"{len(slides)} insights", Inches(0.6), Inches(4.0), Inches(12), Inches(0.6), Pt(20))
    for s in slides:
        slide = deck.slides.add_slide(blank)
        _text(slide, s.title, Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.9), Pt(28), bold=True)
        if s.png:
            slide.shapes.add_picture(io.BytesIO(s.png), Inches(0.5), Inches(1.3), height=Inches(4.6))
        numbers = "\n".join(f"{n.label}: {n.value}" for n in s.numbers)
        _text(slide, numbers, Inches(8.6), Inches(1.3), Inches(4.3), Inches(2.4), Pt(16))
        _text(slide, s.narrative[:1500], Inches(8.6), Inches(3.8), Inches(4.3), Inches(3.2), Pt(12))
        if s.masks:
            masked = "Masked for you: " + "; ".join(s.masks)
            _text(slide, masked[:600], Inches(0.5), Inches(6.3), Inches(8), Inches(0.9), Pt(10))
        slide.notes_slide.notes_text_frame.text = "\n".join(provenance(s))
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _text(slide: Any, text: str, left: int, top: int, width: int, height: int, size: Any, bold: bool = False) -> None:
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.text = text
    for paragraph in frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = size
            run.font.bold = bold


# --- Excel -------------------------------------------------------------------------------------------


def _xlsx(title: str, slides: list[Slide]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    # Text is written as text: never a formula or a link, whatever it starts with (`threshold.formulas`).
    options = {"in_memory": True, "remove_timezone": True, "strings_to_formulas": False, "strings_to_urls": False}
    book = xlsxwriter.Workbook(out, options)
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd"})
    about = book.add_worksheet("About")
    about.write(0, 0, title, bold)
    row = 2
    used: set[str] = set()
    for s in slides:
        sheet_name = _sheet_name(s.title, used)
        sheet = book.add_worksheet(sheet_name)
        names = s.table.column_names
        for c, name in enumerate(names):
            sheet.write_string(0, c, neutralise(name), bold)
        for r, record in enumerate(s.table.to_pylist(), start=1):
            for c, name in enumerate(names):
                v = _cell(record[name])
                if isinstance(v, (date, datetime)):
                    sheet.write_datetime(r, c, v, when)
                elif isinstance(v, str):
                    sheet.write_string(r, c, neutralise(v))
                else:
                    sheet.write(r, c, v)
        _xlsx_chart(book, sheet, sheet_name, s)
        about.write(row, 0, f"{s.title} (sheet {sheet_name})", bold)
        for line in provenance(s):
            row += 1
            about.write(row, 0, line)
        row += 2
    about.write_string(row, 0, f"Formula injection: {NEUTRALISED}")
    book.close()
    return out.getvalue()


def _xlsx_chart(book: Any, sheet: Any, sheet_name: str, s: Slide) -> None:
    """A native, editable Excel chart of the data sheet (one series per colour value, from a small pivot
    beside the data)."""
    spec, n = s.chart, s.table.num_rows
    names = s.table.column_names
    if spec.kind == "table" or n == 0 or spec.x not in names or spec.y not in names:
        return
    anchor = f"{_column_letter(len(names) + 2)}2"
    native = NATIVE_CHARTS[spec.kind]
    if spec.color and spec.color not in names:
        if s.png:
            sheet.insert_image(anchor, "chart.png", {"image_data": io.BytesIO(s.png), "x_scale": 0.5, "y_scale": 0.5})
        return
    chart = book.add_chart({"type": native})
    marker = {"marker": {"type": "circle"}} if native == "scatter" else {}
    measure = spec.color if spec.kind == "heatmap" else spec.y
    if spec.color:
        group = spec.y if spec.kind == "heatmap" else spec.color  # a heat map's rows become the series
        xs, series, cells = _pivot(s.table, spec.x or "", measure or "", group or "")
        first = len(names) + 1 + 12  # the pivot sits right of the chart, so the data stays as it came
        sheet.write_column(1, first, [neutralise(v) if isinstance(v := _cell(x), str) else v for x in xs])
        sheet.write(0, first, spec.x)
        for k, name in enumerate(series, start=1):
            sheet.write_string(0, first + k, neutralise(str(name)))
            sheet.write_column(1, first + k, [cells.get((x, name)) for x in xs])
            chart.add_series({"name": str(name), "categories": [sheet_name, 1, first, len(xs), first],
                              "values": [sheet_name, 1, first + k, len(xs), first + k], **marker})  # fmt: skip
    else:
        x, y = names.index(spec.x), names.index(spec.y)
        chart.add_series({"name": spec.y_title or spec.y, "categories": [sheet_name, 1, x, n, x],
                          "values": [sheet_name, 1, y, n, y], **marker})  # fmt: skip
        chart.set_legend({"none": True})
    chart.set_title({"name": spec.title or s.title})
    chart.set_x_axis({"name": spec.x_title or spec.x})
    chart.set_y_axis({"name": measure if spec.kind == "heatmap" else spec.y_title or spec.y})
    sheet.insert_chart(anchor, chart)


def _pivot(table: pa.Table, x: str, y: str, color: str) -> tuple[list[Any], list[Any], dict[tuple[Any, Any], Any]]:
    """Long rows (x, colour, y) as a grid: the x values, the colour values, and y at each pair."""
    xs: list[Any] = []
    series: list[Any] = []
    cells: dict[tuple[Any, Any], Any] = {}
    for row in table.select([x, color, y]).to_pylist()[:MAX_PIVOT]:
        a, b = row[x], row[color]
        if a not in xs:
            xs.append(a)
        if b not in series and len(series) < MAX_SERIES:
            series.append(b)
        cells[(a, b)] = _cell(row[y])
    return xs, series, cells


def _cell(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.replace(tzinfo=None)
    if isinstance(v, (list, dict)):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    return v


def _sheet_name(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", " ", title).strip()[:28] or "Insight"
    name, i = base, 2
    while name.lower() in used:
        name = f"{base[:25]} {i}"
        i += 1
    used.add(name.lower())
    return name


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- PDF ---------------------------------------------------------------------------------------------


def _pdf(title: str, slides: list[Slide]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(_latin(title))
    for s in slides:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 20)
        pdf.multi_cell(0, 10, _latin(s.title), new_x="LMARGIN", new_y="NEXT")
        top = pdf.get_y() + 2
        if s.png:
            pdf.image(io.BytesIO(s.png), x=10, y=top, w=170)
        pdf.set_xy(190, top)
        pdf.set_font("Helvetica", "B", 12)
        for n in s.numbers:
            pdf.set_x(190)
            pdf.multi_cell(95, 6, _latin(f"{n.label}: {n.value}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.set_x(190)
        pdf.multi_cell(95, 5, _latin(s.narrative[:2000]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), top + (110 if s.png else 0)) + 4)
        pdf.set_font("Helvetica", "", 8)
        for line in provenance(s):
            pdf.multi_cell(0, 4, _latin(line[:1000]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


_LATIN = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "•": "*"})


def _latin(text: str) -> str:
    """The PDF's built-in fonts are Latin-1: other characters become '?' rather than failing the export."""
    return text.translate(_LATIN).encode("latin-1", "replace").decode("latin-1")


def _filename(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:80] or "insight"


_WRITERS = {"pptx": _pptx, "xlsx": _xlsx, "pdf": _pdf}
