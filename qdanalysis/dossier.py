"""The reviewer's dossier: one PDF with every paper figure rebuilt beside the verdicts for its numbers.

``results/reproduction_dossier.pdf`` (rule ``build_dossier``), A4 portrait:

1. a cover page: overall verdict, verdict counts per figure, contents;
2. per composite figure (``figures/Figure1.pdf`` ...), in the paper's order: the composite, placed
   as vector graphics (``pypdf`` page transformation, as the composites themselves are built), then
   the reproduction-report rows whose ``source`` cites that figure
   (:func:`qdanalysis.report.claims_of_section`; a claim citing two figures is listed under both);
3. the claims the paper states in its text without citing a figure;
4. Table S1 as regenerated (the paper's headings, flagged values footnoted) and the claims citing it;
5. the provenance summary from ``results/provenance.json``: git commit, Python and package versions,
   and the sha256 of every raw file.

The verdict rows come from ``results/reproduction_report.csv``, never from the published table
itself (only the report rule reads that). Text is laid out here (fixed-width DejaVu Sans Mono for
tables, so a column's width in characters is its width on the page) and drawn page by page with
matplotlib in the project style (TrueType fonts embedded); composites are merged onto the reserved
boxes afterwards. No dates, no /ID: the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from qdanalysis.composite import (
    MM_PER_INCH,
    PT_PER_MM,
    Box,
    FigureLayout,
    exact_page,
    place_pages,
    write_deterministic_pdf,
)
from qdanalysis.report import (
    TABLE_S1_SECTION,
    TEXT_SECTION,
    VERDICTS,
    claims_of_section,
    format_measurement,
    overall_verdict,
    table_s1_cells,
    verdict_counts,
)

PAGE_MM = (210.0, 297.0)  # A4 portrait
MARGIN_MM = 15.0
FOOTER_MM = 8.0
MONO_PT = 6.5
MONO_CHAR_MM = 0.602 * MONO_PT / PT_PER_MM  # DejaVu Sans Mono advance width is 0.602 em
LINE_FACTOR = 1.3
VERDICT_COLOURS = {"pass": "#1a7f37", "warn": "#b35900", "fail": "#c62828", "missing": "#6e6e6e"}
TITLE = "Reproduction dossier: Yuan et al., Chem. Sci. 2023, 14, 13119"


# ---------------------------------------------------------------- page model
@dataclass(frozen=True)
class TextLine:
    """One line of text on a page; ``y_mm`` is its top, from the page's top edge."""

    text: str
    x_mm: float
    y_mm: float
    size_pt: float
    mono: bool = False
    bold: bool = False
    colour: str = "black"


@dataclass
class Page:
    lines: list[TextLine] = field(default_factory=list)
    figures: list[tuple[Path, Box]] = field(default_factory=list)


def _line_mm(size_pt: float) -> float:
    return size_pt * LINE_FACTOR / PT_PER_MM


class Flow:
    """Top-to-bottom layout of headings, paragraphs, tables and figures onto A4 pages."""

    def __init__(self):
        self.pages: list[Page] = []
        self.sections: list[tuple[str, int]] = []  # (heading, 1-based page number)
        self._new_page()

    @property
    def width_mm(self) -> float:
        return PAGE_MM[0] - 2 * MARGIN_MM

    @property
    def bottom_mm(self) -> float:
        return PAGE_MM[1] - MARGIN_MM - FOOTER_MM

    def _new_page(self) -> None:
        self.pages.append(Page())
        self.y_mm = MARGIN_MM

    def _need(self, height_mm: float) -> None:
        if self.y_mm + height_mm > self.bottom_mm and self.y_mm > MARGIN_MM:
            self._new_page()

    def page_break(self) -> None:
        """Start a new page unless the current one is still empty."""
        if self.pages[-1].lines or self.pages[-1].figures:
            self._new_page()

    def _put(self, text: str, size_pt: float, x_mm: float = MARGIN_MM, **style) -> None:
        self.pages[-1].lines.append(TextLine(text, x_mm, self.y_mm, size_pt, **style))

    def heading(self, text: str, size_pt: float = 11.0, section: bool = True) -> None:
        """A bold heading (kept with at least three lines of what follows).

        Parameters
        ----------
        text : str
            The heading, wrapped to the text width.
        size_pt : float, optional
            Font size in points. Default is 11.
        section : bool, optional
            Record the heading and its page number in :attr:`sections` (the table of contents).
            Default is True.
        """
        wrapped = textwrap.wrap(text, _chars(self.width_mm, size_pt, mono=False)) or [""]
        self._need(_line_mm(size_pt) * (len(wrapped) + 1) + 3 * _line_mm(MONO_PT))
        if section:
            self.sections.append((text, len(self.pages)))
        for line in wrapped:
            self._put(line, size_pt, bold=True)
            self.y_mm += _line_mm(size_pt)
        self.y_mm += 0.4 * _line_mm(size_pt)

    def paragraph(self, text: str, size_pt: float = 8.0, colour: str = "black", mono: bool = False) -> None:
        """A paragraph wrapped to the text width, breaking pages between lines as needed.

        Parameters
        ----------
        text : str
            The paragraph.
        size_pt : float, optional
            Font size in points. Default is 8.
        colour : str, optional
            Matplotlib text colour. Default is "black".
        mono : bool, optional
            Set in DejaVu Sans Mono instead of DejaVu Sans. Default is False.
        """
        for line in textwrap.wrap(text, _chars(self.width_mm, size_pt, mono=mono)) or [""]:
            self._need(_line_mm(size_pt))
            self._put(line, size_pt, colour=colour, mono=mono)
            self.y_mm += _line_mm(size_pt)
        self.y_mm += 0.5 * _line_mm(size_pt)

    def table(self, header: list[str], rows: list[list[str]], widths: list[int],
              colours: list[dict[int, str]] | None = None, notes: list[tuple[str, str]] | None = None) -> None:
        """Fixed-width table: cells wrapped to their column's width (characters), header repeated on
        every page. ``colours[i]`` maps a column index to a text colour (bold) for row ``i``;
        ``notes[i]`` is ``(text, colour)`` printed under row ``i`` across columns 1 to the last.

        Parameters
        ----------
        header : list of str
            Column headings.
        rows : list of list of str
            The cells, one list per row.
        widths : list of int
            Width of each column, in characters of the monospaced font.
        colours : list of dict of int to str, optional
            Per row, text colours of some columns (those cells are set in bold). Default is None.
        notes : list of (str, str), optional
            Per row, a note and its colour printed under it. Default is None.

        Raises
        ------
        ValueError
            If the table is wider than the text width.
        """
        line = _line_mm(MONO_PT)
        offsets = [MARGIN_MM + sum(widths[:i]) * MONO_CHAR_MM + i * 2 * MONO_CHAR_MM for i in range(len(widths))]
        total_chars = sum(widths) + 2 * (len(widths) - 1)
        note_chars = total_chars - widths[0] - 2
        if total_chars * MONO_CHAR_MM > self.width_mm + 1e-6:
            raise ValueError(f"table of {total_chars} characters is wider than the page")

        def wrap(cells: list[str]) -> list[list[str]]:
            return [textwrap.wrap(str(c), w, break_long_words=True, break_on_hyphens=False) or [""]
                    for c, w in zip(cells, widths, strict=False)]

        def put_row(wrapped: list[list[str]], bold: bool, row_colours: dict[int, str]) -> None:
            for k in range(max(len(w) for w in wrapped)):
                for i, lines in enumerate(wrapped):
                    if k < len(lines):
                        self._put(lines[k], MONO_PT, x_mm=offsets[i], mono=True, bold=bold or i in row_colours,
                                  colour=row_colours.get(i, "black"))
                self.y_mm += line

        def put_header() -> None:
            put_row(wrap(header), True, {})
            self._put("-" * total_chars, MONO_PT, mono=True, colour="#808080")
            self.y_mm += line

        self._need((max(len(w) for w in wrap(header)) + 2) * line)
        put_header()
        for index, row in enumerate(rows):
            wrapped = wrap(row)
            note, note_colour = notes[index] if notes else ("", "")
            note_lines = textwrap.wrap(note, note_chars, break_long_words=True) if note else []
            gap = 0.6 if notes else 0.0
            if self.y_mm + (max(len(w) for w in wrapped) + len(note_lines)) * line + gap > self.bottom_mm:
                self._new_page()
                put_header()
            put_row(wrapped, False, colours[index] if colours else {})
            for piece in note_lines:
                self._put(piece, MONO_PT, x_mm=offsets[1] if len(offsets) > 1 else offsets[0], mono=True,
                          colour=note_colour)
                self.y_mm += line
            self.y_mm += gap
        self.y_mm += 0.8 * line

    def figure(self, pdf_path: Path, size_mm: tuple[float, float]) -> None:
        """Reserve a box for a composite figure below what is on the page (its section heading):
        at print size when it fits, else scaled down to the text width and the space left.

        Parameters
        ----------
        pdf_path : pathlib.Path
            The composite figure's PDF, placed when the pages are merged.
        size_mm : (float, float)
            Its width and height at print size, in mm.
        """
        width, height = size_mm
        scale = min(self.width_mm / width, (self.bottom_mm - self.y_mm) / height, 1.0)
        box = Box(MARGIN_MM + (self.width_mm - width * scale) / 2, self.y_mm, width * scale, height * scale)
        self.pages[-1].figures.append((pdf_path, box))
        self.y_mm += height * scale + 3.0


def _chars(width_mm: float, size_pt: float, mono: bool) -> int:
    # proportional DejaVu Sans averages under 0.56 em per character in this text
    em = 0.602 if mono else 0.56
    return max(20, int(width_mm * PT_PER_MM / (em * size_pt)))


# ---------------------------------------------------------------- contents
VERDICT_HEADER = ["verdict", "quantity", "sample", "published", "regenerated", "tolerance"]
VERDICT_WIDTHS = [7, 18, 24, 24, 22, 23]  # 128 characters with the gaps: the text width


def _add_claims(flow: Flow, claims: pd.DataFrame, what: str) -> None:
    counts = verdict_counts(claims)
    if claims.empty:
        flow.paragraph(f"No published number of the paper is read from {what}.", colour="#505050")
        return
    summary = ", ".join(f"{counts[v]} {v}" for v in VERDICTS)
    flow.paragraph(f"Published claims on {what}: {len(claims)} ({summary}).", size_pt=8.0)
    _claims_table(flow, claims)


def _claims_table(flow: Flow, claims: pd.DataFrame) -> None:
    """One row per claim (verdict in its colour), its source and any flag reason underneath."""
    rows, colours, notes = [], [], []
    for claim in claims.itertuples(index=False):
        value, sigma = float(claim.regenerated), float(claim.uncertainty)
        unit = "" if pd.isna(claim.unit) else f" {claim.unit}"
        if math.isfinite(value):
            value_text, sigma_text = format_measurement(value, sigma)
            regenerated = value_text + ("" if sigma_text is None else f" ± {sigma_text}") + unit
        else:
            regenerated = "–"
        published = str(claim.published)
        published += unit if published[:1] not in "<>=" else ""
        rows.append([claim.verdict, claim.quantity, claim.sample, published, regenerated, str(claim.tolerance)])
        colours.append({0: VERDICT_COLOURS.get(claim.verdict, "black")})
        flag = "" if pd.isna(claim.flag) or claim.flag == "ok" else str(claim.flag)
        notes.append((f"source: {claim.source}" + (f" | {flag}" if flag else ""),
                      VERDICT_COLOURS["warn"] if flag else "#505050"))
    flow.table(VERDICT_HEADER, rows, VERDICT_WIDTHS, colours, notes)


def _add_table_s1(flow: Flow, table_s1: pd.DataFrame) -> None:
    """Table S1 with the paper's headings; split into as many tables (each repeating the sample
    column) as it takes for every ``value ± sigma`` cell to fit on one line."""
    quantities = [c for c in table_s1.columns if c != "sample" and f"{c}_err" in table_s1.columns]
    shown, notes = table_s1_cells(table_s1, quantities, {})
    widths = {column: max(len(str(v)) for v in [column, *shown[column]]) for column in shown.columns}
    available = int(flow.width_mm / MONO_CHAR_MM)
    sample = shown.columns[0]
    columns = list(shown.columns[1:])
    groups = [columns]
    for parts in range(1, len(columns) + 1):  # fewest parts of near-equal size that all fit
        size = math.ceil(len(columns) / parts)
        groups = [columns[i:i + size] for i in range(0, len(columns), size)]
        if all(widths[sample] + sum(widths[c] + 2 for c in group) <= available for group in groups):
            break
    for group in groups:
        columns = [sample, *group]
        flow.table(columns, [[str(v) for v in row] for row in shown[columns].itertuples(index=False)],
                   [min(widths[c], available) for c in columns])
    if notes:
        flow.paragraph("Flagged values (the analysis found a reason not to trust them as printed):", size_pt=7.5)
        for note in notes:
            flow.paragraph(note, size_pt=7.0, colour=VERDICT_COLOURS["warn"])


def _add_provenance(flow: Flow, provenance: dict) -> None:
    code = provenance.get("code", {})
    packages = provenance.get("packages", {})
    flow.paragraph(f"Workflow commit: {code.get('commit', 'unknown')}"
                   + (f" (tracked files differ from it: {code.get('dirty')})" if code.get("dirty") not in
                      (False, "false", None) else "") + ".", size_pt=8.0)
    python = packages.get("python") or provenance.get("python", "")
    rows = [[name, str(version)] for name, version in sorted(packages.items(), key=lambda kv: kv[0].lower())]
    if python and not any(r[0] == "python" for r in rows):
        rows.insert(0, ["python", str(python)])
    flow.heading("Package versions", size_pt=9.5, section=False)
    flow.table(["package", "version"], rows, [30, 30])
    raw = provenance.get("raw_files", [])
    flow.heading(f"Raw files ({len(raw)}; sha256 recomputed and checked against the sample sheet)",
                 size_pt=9.5, section=False)
    inputs = _flatten(provenance.get("inputs", {}))
    if inputs:
        flow.table(["input", "sha256"], [[name, sha] for name, sha in inputs], [58, 64])
    flow.table(["file", "sha256"], [[str(r.get("file", "")), _sha(r)] for r in raw], [58, 64])


def _flatten(entries, prefix: str = "") -> list[tuple[str, str]]:
    """``{"sample_sheet": {"raw/samples.csv": sha}}`` -> ``[("raw/samples.csv", sha)]``."""
    if not isinstance(entries, dict):
        return [(prefix, str(entries))]
    return [pair for key, value in entries.items() for pair in _flatten(value, str(key))]


def _sha(entry) -> str:
    if isinstance(entry, dict):
        return str(entry.get("sha256", ""))
    return str(entry)


# ---------------------------------------------------------------- drawing
def _draw_pages(pages: list[Page]) -> bytes:
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from qdanalysis.plotting import _PDF_METADATA, use_style

    use_style()
    buffer = io.BytesIO()
    width, height = PAGE_MM
    with exact_page(), PdfPages(buffer, metadata=_PDF_METADATA) as pdf:
        for number, page in enumerate(pages, start=1):
            fig = plt.figure(figsize=(width / MM_PER_INCH, height / MM_PER_INCH))
            for line in page.lines:
                fig.text(line.x_mm / width, 1 - line.y_mm / height, line.text, ha="left", va="top",
                         fontsize=line.size_pt, fontweight="bold" if line.bold else "normal", color=line.colour,
                         family="DejaVu Sans Mono" if line.mono else "DejaVu Sans")
            fig.text(0.5, FOOTER_MM / 2 / height + MARGIN_MM / 2 / height, f"{TITLE} - page {number} of {len(pages)}",
                     ha="center", va="center", fontsize=6.5, color="#606060")
            pdf.savefig(fig)
            plt.close(fig)
    return buffer.getvalue()


def _merge_figures(pages_pdf: bytes, pages: list[Page], path: str | Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for index, source in enumerate(PdfReader(io.BytesIO(pages_pdf)).pages):
        page = writer.add_page(source)
        placed = []
        for pdf_path, box in pages[index].figures:
            figure = PdfReader(pdf_path).pages[0]
            scale = box.width_mm / (float(figure.mediabox.width) / PT_PER_MM)
            placed.append((figure, scale, box.x_mm * PT_PER_MM, (PAGE_MM[1] - box.y_mm - box.height_mm) * PT_PER_MM))
        if placed:
            place_pages(writer, page, placed)
        else:
            page.compress_content_streams()
    write_deterministic_pdf(writer, path)


# ---------------------------------------------------------------- the dossier
def build_dossier(layouts: list[FigureLayout], composites: dict[str, Path], report: pd.DataFrame,
                  table_s1: pd.DataFrame, provenance: dict, path: str | Path) -> int:
    """Write the dossier PDF; returns its page count.

    Parameters
    ----------
    layouts : list of FigureLayout
        Every composite figure of the paper's layout file, in the paper's order.
    composites : dict of str to pathlib.Path
        ``figure name -> figures/<name>.pdf`` of the composites this run built (others are listed
        as not built, with their claims).
    report : pandas.DataFrame
        ``results/reproduction_report.csv``.
    table_s1 : pandas.DataFrame
        ``results/TableS1.csv``.
    provenance : dict
        ``results/provenance.json``.
    path : str or pathlib.Path
        Output PDF.

    Returns
    -------
    int
        Number of pages, the cover included.

    Raises
    ------
    ValueError
        If the cover does not fit on one page or a table is wider than the page.
    """
    from qdanalysis.composite import pdf_page_size_mm

    body = Flow()
    for layout in layouts:
        body.page_break()
        # the composite carries the paper's caption title; the heading names the figure and its file
        body.heading(f"{layout.category}: figures/{layout.name}.pdf")
        if layout.name in composites:
            body.figure(Path(composites[layout.name]), pdf_page_size_mm(composites[layout.name]))
        else:
            body.paragraph("Not built: this data set has none of the figure's data panels.", colour="#505050")
        _add_claims(body, claims_of_section(report, layout.name), layout.category)
    body.page_break()
    body.heading("Claims stated in the text without a figure")
    _add_claims(body, claims_of_section(report, TEXT_SECTION), "the text alone")
    body.page_break()
    body.heading("Table S1 (regenerated; values ± 1σ)")
    _add_table_s1(body, table_s1)
    _add_claims(body, claims_of_section(report, TABLE_S1_SECTION), "Table S1")
    body.page_break()
    body.heading("Provenance")
    _add_provenance(body, provenance)

    cover = _cover(layouts, composites, report, body.sections)
    pages = cover.pages + body.pages
    _merge_figures(_draw_pages(pages), pages, path)
    return len(pages)


def _cover(layouts, composites, report, sections) -> Flow:
    counts = verdict_counts(report)
    flow = Flow()
    flow.heading(TITLE, size_pt=14, section=False)
    flow.paragraph("Yuan et al., \"Interface defects repair of core/shell quantum dots through halide ion "
                   "penetration\", Chem. Sci. 2023, 14, 13119 (doi:10.1039/d3sc04136k): every figure rebuilt from "
                   "raw instrument files, beside the verdicts for the numbers it carries.", size_pt=8.5)
    flow.heading(f"Verdict: {overall_verdict(counts)} - {counts['pass']} of {sum(counts.values())} published claims "
                 "pass (" + ", ".join(f"{counts[v]} {v}" for v in VERDICTS) + ")", size_pt=10.5, section=False)
    flow.paragraph("pass: within the stated tolerance, or the claimed relation holds beyond 2σ; warn: it would pass "
                   "but the analysis flagged the number; fail: it does not hold; missing: this data set has no such "
                   "number. Schematic panels are placeholders naming what the paper shows.", size_pt=7.5,
                   colour="#404040")
    rows = []
    for layout in layouts:
        c = verdict_counts(claims_of_section(report, layout.name))
        rows.append([layout.category + ("" if layout.name in composites else " (not built)"),
                     *(str(c[v]) for v in VERDICTS)])
    for section, label in ((TEXT_SECTION, "Text only"), (TABLE_S1_SECTION, "Table S1")):
        c = verdict_counts(claims_of_section(report, section))
        rows.append([label, *(str(c[v]) for v in VERDICTS)])
    flow.table(["section", *VERDICTS], rows, [36, 7, 7, 7, 7])
    flow.heading("Contents", size_pt=10, section=False)
    offset = 1  # the cover is one page
    flow.table(["section", "page"], [[title, str(page + offset)] for title, page in sections], [100, 6])
    if len(flow.pages) != 1:
        raise ValueError("the cover does not fit one page")
    return flow


def read_provenance(path: str | Path) -> dict:
    """Read a provenance record (``results/provenance.json``).

    Parameters
    ----------
    path : str or pathlib.Path
        The JSON file.

    Returns
    -------
    dict
        The parsed record.
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))
