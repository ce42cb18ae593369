"""Composite figures: the paper's multi-panel figures assembled from the single-panel files.

The per-panel figure scripts draw one file per paper panel (``figures/Fig1b.pdf`` ...). A reviewer
compares whole figures, so this module places those files on one page per paper figure, in the
positions declared in ``qdanalysis/data/figure_layouts.yaml`` (the one place a reader finds the
paper's layout). Nothing is redrawn:

* the vector composite (``figures/Figure1.pdf``) places each panel's PDF page as a Form XObject under
  a scale-and-shift transformation (:func:`place_pages`): the panel's own vector paths and embedded
  TrueType fonts are carried over unchanged, clipped to the panel's page box;
* the raster composite (``figures/Figure1.png``, 300 dpi) places each panel's PNG (Pillow, Lanczos
  resampling to the same box the PDF uses).

Only the page background is drawn here, with matplotlib in the project style: the title strip and
the labelled placeholders for what a composite cannot take from a panel file - schematics and
photographs of the paper, panels this pipeline does not regenerate, and panels whose samples this
run's sample sheet does not contain ("not in this data set").

Panel letters. Each panel file carries its own letter (``qdanalysis.plotting.panel_label``, drawn
in bold DejaVu Sans); the composite does not draw a second one. Before placing a file,
:func:`panel_letters` reads the bold single-letter texts of its PDF page and
:func:`check_panel_letters` compares them with the letters the layout declares, so a panel drawn
with the wrong letter stops the composite instead of appearing under a wrong letter. Placeholders
get their letter from the layout, drawn with the same helper.

Determinism: panel positions depend only on the layout and the panels' page sizes; the PDF is
written without /ID, dates or producer strings and with compressed content streams; the PNG without
time or text chunks. Same panels in, same bytes out.
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import yaml

MM_PER_INCH = 25.4
PT_PER_MM = 72.0 / MM_PER_INCH
PNG_DPI = 300
LAYOUTS = Path(__file__).with_name("data") / "figure_layouts.yaml"

MARGIN_MM = 2.0       # white border round the composite
GUTTER_MM = 3.0       # space between grid cells
TITLE_MM = 7.0        # strip above the panels carrying the figure's title
DEFAULT_ROW_MM = 55.0  # height of a row that holds only placeholders and declares no height
# Panels are drawn at print size (single-column 8.3 cm, 8 pt text); enlarging one much beyond that
# would set its text larger than the paper's, so a wide cell leaves white space instead.
MAX_SCALE = 1.1


class LayoutError(ValueError):
    """A layout entry or a panel file contradicts the paper's figure (wrong letter, bad cell)."""


@dataclass(frozen=True)
class PanelSpec:
    """One panel of a paper figure: where it sits and what fills it.

    Exactly one of ``stem`` (a single-panel file ``figures/<stem>``), ``schematic`` (what the paper
    shows there; drawn as a placeholder) and ``absent`` (why the pipeline does not regenerate it).
    """

    letters: tuple[str, ...]
    cell: tuple[int, int]
    span: tuple[int, int] = (1, 1)
    stem: str | None = None
    schematic: str | None = None
    absent: str | None = None

    @property
    def label(self) -> str:
        """Letters as printed in a caption: ``'b'``, ``'a-c'``, or ``''``."""
        if len(self.letters) > 2:
            return f"{self.letters[0]}-{self.letters[-1]}"
        return ",".join(self.letters)


@dataclass(frozen=True)
class FigureLayout:
    """A paper figure: title, report category, grid and panels (``figure_layouts.yaml``)."""

    name: str
    title: str
    category: str
    paper: bool
    width_mm: float
    grid: tuple[int, int]
    row_heights_mm: tuple[float | None, ...]
    panels: tuple[PanelSpec, ...]

    @property
    def stems(self) -> list[str]:
        """The single-panel files this figure is built from, in letter order."""
        return [p.stem for p in self.panels if p.stem]


@dataclass(frozen=True)
class Box:
    """A rectangle on the composite page in mm, measured from the page's top-left corner."""

    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class Placement:
    """Where one panel goes: its grid cell box and, for a file, the scaled box inside it."""

    panel: PanelSpec
    cell: Box
    content: Box | None  # None: the cell holds a drawn placeholder
    scale: float = 1.0   # panel page size -> composite size


# ---------------------------------------------------------------- layout file
def _panel(figure: str, entry: dict) -> PanelSpec:
    kinds = [k for k in ("stem", "schematic", "absent") if entry.get(k)]
    if len(kinds) != 1:
        raise LayoutError(f"{figure}: panel {entry.get('letters')} needs exactly one of stem, schematic, absent; "
                          f"got {kinds or 'none'}")
    letters = tuple(str(x) for x in entry.get("letters", []))
    if any(len(x) != 1 or not x.islower() for x in letters):
        raise LayoutError(f"{figure}: panel letters must be single lower-case letters, got {list(letters)}")
    cell = tuple(int(x) for x in entry["cell"])
    span = tuple(int(x) for x in entry.get("span", (1, 1)))
    return PanelSpec(letters=letters, cell=cell, span=span, stem=entry.get("stem"),
                     schematic=entry.get("schematic"), absent=entry.get("absent"))


def _validate(layout: FigureLayout) -> None:
    rows, columns = layout.grid
    if len(layout.row_heights_mm) != rows:
        raise LayoutError(f"{layout.name}: row_heights_mm has {len(layout.row_heights_mm)} entries for {rows} rows")
    taken: dict[tuple[int, int], str] = {}
    for panel in layout.panels:
        (row, column), (n_rows, n_columns) = panel.cell, panel.span
        if row < 0 or column < 0 or row + n_rows > rows or column + n_columns > columns or min(panel.span) < 1:
            raise LayoutError(f"{layout.name}: panel {panel.label or panel.stem} at cell {list(panel.cell)} "
                              f"span {list(panel.span)} leaves the {rows}x{columns} grid")
        for r in range(row, row + n_rows):
            for c in range(column, column + n_columns):
                if (r, c) in taken:
                    raise LayoutError(f"{layout.name}: panels {taken[(r, c)]} and {panel.label or panel.stem} "
                                      f"share cell {[r, c]}")
                taken[(r, c)] = panel.label or str(panel.stem)
    letters = [x for p in layout.panels for x in p.letters]
    if letters != sorted(letters) or len(set(letters)) != len(letters):
        raise LayoutError(f"{layout.name}: panel letters must be listed once each, in order; got {letters}")


def load_layouts(path: str | Path = LAYOUTS) -> dict[str, FigureLayout]:
    """Every figure layout of the YAML file, in file order, validated.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The layout file. Default is the package's ``data/figure_layouts.yaml``.

    Returns
    -------
    dict of str to FigureLayout
        The layouts by figure name, in file order.

    Raises
    ------
    LayoutError
        A panel outside the grid, two panels in one cell, letters out of order or repeated, or a
        panel without exactly one of ``stem``/``schematic``/``absent``.
    """
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    layouts = {}
    for name, entry in raw.items():
        grid = tuple(int(x) for x in entry["grid"])
        heights = entry.get("row_heights_mm") or [None] * grid[0]
        layout = FigureLayout(
            name=name, title=str(entry["title"]), category=str(entry["category"]), paper=bool(entry["paper"]),
            width_mm=float(entry["width_mm"]), grid=grid,
            row_heights_mm=tuple(None if h is None else float(h) for h in heights),
            panels=tuple(_panel(name, p) for p in entry["panels"]))
        _validate(layout)
        layouts[name] = layout
    return layouts


def panels_made(layout: FigureLayout, figures: list[str]) -> list[str]:
    """The layout's panel stems among a run's figure files (``FIGURES`` of the rules: paths
    without extension), in the layout's order.

    Parameters
    ----------
    layout : FigureLayout
        The paper figure.
    figures : list of str
        The run's figure files, paths without extension.

    Returns
    -------
    list of str
        The stems of ``layout`` whose file name appears in ``figures``.
    """
    made = {Path(figure).name for figure in figures}
    return [stem for stem in layout.stems if stem in made]


# ---------------------------------------------------------------- geometry
def _column_width_mm(layout: FigureLayout) -> float:
    columns = layout.grid[1]
    return (layout.width_mm - 2 * MARGIN_MM - (columns - 1) * GUTTER_MM) / columns


def _span_width_mm(layout: FigureLayout, n_columns: int) -> float:
    return n_columns * _column_width_mm(layout) + (n_columns - 1) * GUTTER_MM


def _row_heights_mm(layout: FigureLayout, sizes_mm: dict[str, tuple[float, float]]) -> list[float]:
    """Declared heights, else the tallest one-row panel file scaled to its cell width (at most
    :data:`MAX_SCALE`)."""
    heights = []
    for row, declared in enumerate(layout.row_heights_mm):
        if declared is not None:
            heights.append(declared)
            continue
        scaled = [sizes_mm[p.stem][1] * min(_span_width_mm(layout, p.span[1]) / sizes_mm[p.stem][0], MAX_SCALE)
                  for p in layout.panels if p.cell[0] == row and p.span[0] == 1 and p.stem in sizes_mm]
        heights.append(max(scaled) if scaled else DEFAULT_ROW_MM)
    return heights


def place_panels(layout: FigureLayout,
                 sizes_mm: dict[str, tuple[float, float]]) -> tuple[float, float, list[Placement]]:
    """Page size (mm) and the placement of every panel.

    Parameters
    ----------
    layout : FigureLayout
        The paper figure.
    sizes_mm : dict of str to (float, float)
        ``stem -> (width_mm, height_mm)`` of the panel files present in this run; a panel whose stem
        is missing here becomes a placeholder.

    Returns
    -------
    width_mm, height_mm : float
        The composite page, in mm.
    placements : list of Placement
        In the layout's panel order. A file is scaled uniformly to fit its cell (at most
        :data:`MAX_SCALE`), centred horizontally and aligned with the cell's top (so the letters
        of a row line up).
    """
    heights = _row_heights_mm(layout, sizes_mm)
    column_width = _column_width_mm(layout)
    row_top = [MARGIN_MM + TITLE_MM + sum(heights[:r]) + r * GUTTER_MM for r in range(len(heights))]
    page_height = row_top[-1] + heights[-1] + MARGIN_MM
    placements = []
    for panel in layout.panels:
        (row, column), (n_rows, n_columns) = panel.cell, panel.span
        cell = Box(x_mm=MARGIN_MM + column * (column_width + GUTTER_MM), y_mm=row_top[row],
                   width_mm=_span_width_mm(layout, n_columns),
                   height_mm=sum(heights[row:row + n_rows]) + (n_rows - 1) * GUTTER_MM)
        if panel.stem not in sizes_mm:
            placements.append(Placement(panel=panel, cell=cell, content=None))
            continue
        width, height = sizes_mm[panel.stem]
        scale = min(cell.width_mm / width, cell.height_mm / height, MAX_SCALE)
        content = Box(x_mm=cell.x_mm + (cell.width_mm - width * scale) / 2, y_mm=cell.y_mm,
                      width_mm=width * scale, height_mm=height * scale)
        placements.append(Placement(panel=panel, cell=cell, content=content, scale=scale))
    return layout.width_mm, page_height, placements


# ---------------------------------------------------------------- panel files
def pdf_page_size_mm(path: str | Path) -> tuple[float, float]:
    """Width and height (mm) of the first page of a PDF.

    Parameters
    ----------
    path : str or pathlib.Path
        The PDF file.

    Returns
    -------
    width_mm, height_mm : float
        The first page's media box, in mm.
    """
    from pypdf import PdfReader

    box = PdfReader(path).pages[0].mediabox
    return float(box.width) / PT_PER_MM, float(box.height) / PT_PER_MM


def panel_letters(path: str | Path) -> list[str]:
    """The panel letters a figure file carries: single lower-case letters set in a bold font.

    ``qdanalysis.plotting.panel_label`` draws them in bold DejaVu Sans (embedded TrueType, so the
    text is extractable); no other text of a panel is a bold single letter. Top-to-bottom, then
    left-to-right within one panel file; in a composite the letters of placed panels (Form XObjects)
    are found, in an order that need not be the reading order.

    The text is read with pypdf's text extraction, after :func:`_keep_text_operations` has cut the
    page's content (and that of the Form XObjects it places) down to the operators that extraction
    reacts to: a panel's content is mostly paths and scatter markers, which pypdf would otherwise
    parse token by token. The letters and positions found are the same either way.

    Parameters
    ----------
    path : str or pathlib.Path
        A PDF figure file (its first page is read).

    Returns
    -------
    list of str
        The letters found, top-to-bottom then left-to-right (position: the translation of the
        current transformation matrix plus that of the text matrix, as pypdf reports them).
    """
    from pypdf import PdfReader, apply_configuration

    found = []

    def visit(text, cm, tm, font, size):
        base_font = str(font.get("/BaseFont", "")) if font else ""
        if len(text.strip()) == 1 and text.strip().islower() and "Bold" in base_font:
            x, y = cm[4] + tm[4], cm[5] + tm[5]
            found.append((-round(y, 1), round(x, 1), text.strip()))

    reader = PdfReader(path)
    page = reader.pages[0]
    _keep_text_operations(page, reader)
    # pypdf stops descending into Form XObjects after 5000 invocations (a guard against hostile files);
    # matplotlib draws every scatter marker as one, so a panel with many markers would lose its letter
    with apply_configuration(xform_maximum_invocations_per_extraction=10_000_000):
        page.extract_text(visitor_text=visit)
    return [letter for *_, letter in sorted(found)]


# Content-stream syntax (PDF 32000-1, 7.2 and 7.8.2), delimited as pypdf's ContentStream parser
# delimits it; it only needs to find where each operation ends. Anything it does not cover (literal
# strings with nested parentheses, nested arrays or dictionaries, inline images, odd bytes) makes
# _text_operations give up, and that stream is extracted unchanged.
_WS = rb"[\x00\t\n\f\r ]"
_REGULAR = rb"[^\x00\t\n\x0b\f\r ()<>\[\]{}/%]"
_COMMENT = rb"%[^\r\n]*+"
_ATOM = (rb"\((?:[^()\\]|\\.)*+\)"                       # literal string
         rb"|<(?!<)[^>]*+>"                                 # hexadecimal string
         rb"|/" + _REGULAR + rb"*+(?!\x00)"                 # name
         rb"|[0-9+\-.][0-9+,\-.]*+(?!" + _REGULAR + rb")")  # number (pypdf's delimiting)
_KEYWORD = rb"(?:true|false|null)(?!\x00|" + _REGULAR + rb")"
_ARRAY = rb"\[(?:" + rb"|".join([_WS, _COMMENT, _ATOM, _KEYWORD]) + rb")*+\]"
_DICT = rb"<<(?:" + rb"|".join([_WS, _COMMENT, _ATOM, _KEYWORD, _ARRAY]) + rb")*+>>"
_OPERANDS = rb"(?:" + rb"|".join([_WS, _COMMENT, _ATOM, _ARRAY, _DICT]) + rb")*+"
_OPERATION = re.compile(_OPERANDS + rb"(?P<op>[A-Za-z'\"]" + _REGULAR + rb"{0,99}+)(?!\x00|" + _REGULAR + rb")", re.S)
_TRAILING_OPERANDS = re.compile(_OPERANDS, re.S)
_DO_NAME = re.compile(rb"/(" + _REGULAR + rb"*)" + _WS + rb"*Do\Z")
# What pypdf's text extraction (7.1.1) reacts to: text objects, text state, positioning and showing,
# q/Q/cm and Do; gs is kept as well. Every other operator (paths, clipping, colour, line style,
# shadings, marked content) it ignores, so dropping those operations changes nothing it reports.
_TEXT_OBJECT_OPERATORS = frozenset(b"Tc Tw Tz TL Tf Tr Ts Td TD Tm T* Tj TJ ' \" gs".split())
_TEXT_OPERATORS = _TEXT_OBJECT_OPERATORS | {b"BT", b"ET", b"q", b"Q", b"cm", b"Do"}
_MOVE_OR_SHOW = frozenset(b"Td TD Tm T* Tj TJ ' \"".split())


def _text_operations(data: bytes, blank) -> bytes | None:
    """The operations of a content stream that pypdf's text extraction reacts to, or None.

    Besides dropping the operators extraction ignores, a ``q ... Q`` group outside text objects that
    holds nothing but q/Q/cm/gs and ``Do`` of XObjects that cannot show text (``blank(name)``:
    images, Form XObjects without resources, which pypdf does not look into - matplotlib's scatter
    markers) is dropped, its Do's replaced by one Do unless one directly precedes it. In pypdf such
    a group outside a text object only reports empty or newline text, restores the graphics state,
    ends the output with a newline (as one Do does) and sets the matrices of the next text report,
    which the next BT, ET, cm, Tf or Do resets before any text is reported. That needs text shown
    and positioned only inside BT ... ET, and q, Q, cm and Do outside; a stream breaking that, or
    one the syntax above does not cover, gives None (extract it unchanged).
    """
    kept: list[tuple[bytes, bytes, bool]] = []  # operator, operation bytes, droppable in a group
    groups: list[int] = []  # where each open q is in `kept`
    in_text = False
    pos = 0
    while match := _OPERATION.match(data, pos):
        pos = match.end()
        op = match["op"]
        if op in (b"BI", b"R"):  # inline image data, indirect reference: not covered
            return None
        if op not in _TEXT_OPERATORS:
            continue
        if op in (b"BT", b"ET"):
            if in_text == (op == b"BT"):
                return None
            in_text = op == b"BT"
        elif (op not in _TEXT_OBJECT_OPERATORS) if in_text else (op in _MOVE_OR_SHOW):
            return None
        droppable = op in (b"q", b"Q", b"cm", b"gs")
        if op == b"Do":
            name = _DO_NAME.search(match[0])
            droppable = bool(name and name[1].isascii() and b"#" not in name[1] and blank("/" + name[1].decode()))
        if op == b"q" and not in_text:
            groups.append(len(kept))
        kept.append((op, match[0], droppable))
        if op == b"Q" and groups:
            start = groups.pop()
            body = kept[start:]
            if all(d for *_, d in body):
                del kept[start:]
                dos = [entry for entry in body if entry[0] == b"Do"]
                if dos and not (kept and kept[-1][0] == b"Do" and kept[-1][2]):
                    kept.append(dos[0])
    if in_text or _TRAILING_OPERANDS.fullmatch(data, pos) is None:
        return None
    return b"\n".join(raw for _, raw, _ in kept)


def _keep_text_operations(page, pdf) -> None:
    """Cut a pypdf page's content, and that of the Form XObjects it places, to its text operations.

    Works on the page as read into memory (:func:`_text_operations`); the file is not touched. A
    stream that :func:`_text_operations` does not cover is left as it is.
    """
    from pypdf.generic import ContentStream, DictionaryObject, NameObject, StreamObject

    stand_ins: dict[int, tuple] = {}  # id(form) -> (form, what replaces it)

    def resolved(value):
        return value.get_object() if value is not None else None

    def xobjects_of(owner) -> DictionaryObject:
        resources = resolved(owner.get_inherited("/Resources", None))
        xobjects = resolved(resources.get("/XObject")) if isinstance(resources, DictionaryObject) else None
        return xobjects if isinstance(xobjects, DictionaryObject) else DictionaryObject()

    def cut(stream, owner) -> ContentStream | None:
        xobjects = xobjects_of(owner)

        @functools.cache
        def blank(name: str) -> bool:  # pypdf reports nothing from drawing this XObject
            xobject = resolved(xobjects.get(name))
            if not isinstance(xobject, StreamObject) or "/Subtype" not in xobject:
                return False
            resources = resolved(xobject.get_inherited("/Resources", None))
            return xobject["/Subtype"] == "/Image" or not (isinstance(resources, DictionaryObject) and resources)

        content = ContentStream(stream, pdf, "bytes")  # as pypdf's extraction reads it
        data = _text_operations(content.get_data(), blank)
        if data is None:
            return None
        content.set_data(data)
        return content

    def walk(owner) -> None:
        xobjects = xobjects_of(owner)
        for name in list(xobjects):
            form = xobjects[name]
            if not isinstance(form, StreamObject) or form.get("/Subtype") != "/Form":
                continue
            if id(form) not in stand_ins:
                stand_ins[id(form)] = (form, form)  # also stops a form that places itself
                content = cut(form, form)
                if content is not None:
                    content.update({k: v for k, v in form.items() if k not in ("/Length", "/Filter", "/DecodeParms")})
                    stand_ins[id(form)] = (form, content)
                walk(form)
            xobjects[NameObject(name)] = stand_ins[id(form)][1]

    if "/Contents" in page:
        content = cut(page["/Contents"], page)
        if content is not None:
            page[NameObject("/Contents")] = content
    walk(page)


def check_panel_letters(panel: PanelSpec, found: list[str], path: str | Path) -> None:
    """Raise :class:`LayoutError` unless a panel file carries the letters the paper prints.

    A file drawn for fewer samples than the paper's (e.g. Fig. S2 with three of five treatments)
    carries the first letters only; it may not carry a letter the layout does not declare, nor miss
    the first one.

    Parameters
    ----------
    panel : PanelSpec
        The layout's panel, with the declared letters.
    found : list of str
        The letters the file carries (:func:`panel_letters`).
    path : str or pathlib.Path
        The panel file, named in the error.

    Raises
    ------
    LayoutError
        A letter the layout does not declare, the first declared letter missing, or letters on a
        panel the paper prints without one.
    """
    declared = list(panel.letters)
    if not declared:
        if found:
            raise LayoutError(f"{path}: carries panel letter(s) {found}, the paper prints none on this panel")
        return
    unexpected = [x for x in found if x not in declared]
    if unexpected or declared[0] not in found:
        raise LayoutError(f"{path}: carries panel letter(s) {found}, the paper prints {declared}")


# ---------------------------------------------------------------- placeholders and background
def placeholder_text(panel: PanelSpec) -> tuple[str, str]:
    """Heading and body of a placeholder cell.

    Parameters
    ----------
    panel : PanelSpec
        A panel without a file in this run.

    Returns
    -------
    heading, body : str
        "Schematic in the paper" with the schematic's description, "Not regenerated" with the reason,
        or "Not in this data set" with a note naming the missing ``figures/<stem>``.
    """
    if panel.schematic:
        return "Schematic in the paper", panel.schematic
    if panel.absent:
        return "Not regenerated", panel.absent
    return ("Not in this data set",
            f"The sample sheet of this run has no samples for this panel (figures/{panel.stem}).")


def _wrap(text: str, width_mm: float, fontsize_pt: float) -> str:
    # DejaVu Sans averages ~0.55 em per character; wrap so a line fits the cell with a margin
    chars = max(12, int((width_mm - 8) * PT_PER_MM / (0.55 * fontsize_pt)))
    return "\n".join(textwrap.wrap(text, chars))


def draw_background(layout: FigureLayout, width_mm: float, height_mm: float, placements: list[Placement]):
    """Matplotlib figure of the whole page: title strip and placeholders, panels left blank.

    Parameters
    ----------
    layout : FigureLayout
        The paper figure (its title is drawn).
    width_mm, height_mm : float
        Page size in mm (from :func:`place_panels`).
    placements : list of Placement
        The placements; those without content are drawn as placeholders with their letters.

    Returns
    -------
    matplotlib.figure.Figure
        The page figure; the caller closes it.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from qdanalysis.plotting import use_style

    use_style()
    fig = plt.figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH))
    fig.text(MARGIN_MM / width_mm, 1 - (MARGIN_MM + TITLE_MM / 2) / height_mm, layout.title,
             ha="left", va="center", fontsize=8, fontweight="bold")
    for placement in placements:
        if placement.content is not None:
            continue
        cell = placement.cell
        ax = fig.add_axes((cell.x_mm / width_mm, 1 - (cell.y_mm + cell.height_mm) / height_mm,
                           cell.width_mm / width_mm, cell.height_mm / height_mm))
        ax.set_axis_off()
        ax.add_patch(Rectangle((0.01, 0.01), 0.98, 0.98, transform=ax.transAxes, facecolor="#f4f4f4",
                               edgecolor="#808080", linestyle=(0, (4, 2)), linewidth=0.8))
        heading, body = placeholder_text(placement.panel)
        ax.text(0.5, 0.62, heading, transform=ax.transAxes, ha="center", va="bottom", fontsize=8,
                fontweight="bold", color="#404040")
        ax.text(0.5, 0.56, _wrap(body, cell.width_mm, 7), transform=ax.transAxes, ha="center", va="top",
                fontsize=7, color="#404040", linespacing=1.3)
        # the letter where panel_label puts it on a data panel (bold, top-left)
        for index, letter in enumerate(placement.panel.letters):
            ax.text(0.02 + 0.04 * index, 0.97, letter, transform=ax.transAxes, fontsize=10, fontweight="bold",
                    ha="left", va="top")
    return fig


def exact_page():
    """Context in which ``savefig`` keeps the figure's exact size: the project style crops every
    panel to its ink (``savefig.bbox: tight``), and ``bbox_inches=None`` falls back to that setting.

    Returns
    -------
    contextlib.AbstractContextManager
        A ``matplotlib.rc_context`` setting ``savefig.bbox`` to ``"standard"``.
    """
    import matplotlib

    return matplotlib.rc_context({"savefig.bbox": "standard"})


def _background_pdf(fig) -> bytes:
    from qdanalysis.plotting import _PDF_METADATA

    buffer = io.BytesIO()
    with exact_page():
        fig.savefig(buffer, format="pdf", metadata=_PDF_METADATA)
    return buffer.getvalue()


def _background_png(fig) -> Image.Image:  # noqa: F821 - Pillow is imported lazily
    from PIL import Image

    from qdanalysis.plotting import _PNG_METADATA

    buffer = io.BytesIO()
    with exact_page():
        fig.savefig(buffer, format="png", dpi=PNG_DPI, metadata=_PNG_METADATA)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def _px(mm: float) -> int:
    return int(round(mm / MM_PER_INCH * PNG_DPI))


# ---------------------------------------------------------------- writers
def write_deterministic_pdf(writer, path: str | Path) -> None:
    """Write a ``pypdf.PdfWriter`` with no /Info dates or producer and no /ID (pypdf adds an /ID
    only when encrypting or cloning a reader's trailer; a test checks none appears).

    Parameters
    ----------
    writer : pypdf.PdfWriter
        The document; its metadata is dropped.
    path : str or pathlib.Path
        Output file (parent directories are created).
    """
    writer.metadata = None  # drops the /Info dictionary (pypdf would write /Producer into it)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        writer.write(handle)


def _form_xobject(writer, source_page):
    """A page as a Form XObject of ``writer`` (PDF 32000-1, 8.10): its content bytes and resources as they are."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, FloatObject, NameObject

    contents = source_page["/Contents"]
    streams = contents if isinstance(contents, list) else [contents]
    form = DecodedStreamObject()
    form.set_data(b"\n".join(stream.get_object().get_data() for stream in streams))
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject(FloatObject(float(v)) for v in source_page.mediabox)
    form[NameObject("/Resources")] = source_page["/Resources"].clone(writer)
    return writer._add_object(form.flate_encode())


def place_pages(writer, page, placed: list[tuple[object, float, float, float]]) -> None:
    """Draw PDF pages onto ``page`` (a page of ``writer``), each scaled and shifted into its box.

    ``placed`` holds ``(source page, scale, x_pt, y_pt)``: the source's page box is scaled by ``scale``
    and its lower-left corner put at ``(x_pt, y_pt)`` of ``page`` (PDF user space, points, origin at
    the bottom-left). Each source becomes a Form XObject drawn with one ``Do`` under a ``cm``; its
    vector paths and embedded fonts are carried over unchanged and clipped to its page box.

    Why not ``pypdf.PageObject.merge_transformed_page``: it parses and rewrites every operator of the
    source's content stream, which for a panel with thousands of markers costs seconds per panel
    (issue 12); a placed Form XObject is what the PDF format provides for exactly this.

    Parameters
    ----------
    writer : pypdf.PdfWriter
        The document that owns ``page``.
    page : pypdf.PageObject
        The page to draw on (modified in place).
    placed : list of (pypdf.PageObject, float, float, float)
        ``(source page, scale, x_pt, y_pt)`` for each page to place; positions in points.
    """
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    page.compress_content_streams()
    resources = page["/Resources"]
    if "/XObject" not in resources:
        resources[NameObject("/XObject")] = DictionaryObject()
    xobjects, operators = resources["/XObject"], []
    for number, (source, scale, x_pt, y_pt) in enumerate(placed):
        name, origin = f"/Placed{number}", source.mediabox
        xobjects[NameObject(name)] = _form_xobject(writer, source)
        operators.append(f"q {scale:.6f} 0 0 {scale:.6f} {x_pt - scale * float(origin.left):.4f} "
                         f"{y_pt - scale * float(origin.bottom):.4f} cm {name} Do Q")
    drawn = DecodedStreamObject()
    drawn.set_data(("\n".join(operators) + "\n").encode("ascii"))
    page[NameObject("/Contents")] = ArrayObject([page.raw_get("/Contents"), writer._add_object(drawn.flate_encode())])


def compose_pdf(background_pdf: bytes, placements: list[Placement], panel_pdfs: dict[str, Path],
                height_mm: float, path: str | Path) -> None:
    """Vector composite: the background page with every panel's PDF page placed in its box (:func:`place_pages`).

    Parameters
    ----------
    background_pdf : bytes
        The one-page background PDF (title and placeholders).
    placements : list of Placement
        Where each panel goes (boxes in mm from the page's top-left corner).
    panel_pdfs : dict of str to pathlib.Path
        ``stem -> PDF file`` of each placed panel.
    height_mm : float
        Page height in mm (to convert to PDF's bottom-left origin).
    path : str or pathlib.Path
        Output PDF.
    """
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    page = writer.add_page(PdfReader(io.BytesIO(background_pdf)).pages[0])
    placed = []
    for placement in placements:
        if placement.content is None:
            continue
        box = placement.content
        # PDF user space has its origin at the bottom-left: convert the top-left mm box
        placed.append((PdfReader(panel_pdfs[placement.panel.stem]).pages[0], placement.scale, box.x_mm * PT_PER_MM,
                       (height_mm - box.y_mm - box.height_mm) * PT_PER_MM))
    place_pages(writer, page, placed)
    write_deterministic_pdf(writer, path)


def compose_png(background, placements: list[Placement], panel_pngs: dict[str, Path], path: str | Path) -> None:
    """Raster composite at 300 dpi: every panel's PNG resized (Lanczos) into the box the PDF uses.

    Parameters
    ----------
    background : PIL.Image.Image
        The RGB background page at 300 dpi.
    placements : list of Placement
        Where each panel goes (boxes in mm from the page's top-left corner).
    panel_pngs : dict of str to pathlib.Path
        ``stem -> PNG file`` of each placed panel.
    path : str or pathlib.Path
        Output PNG (parent directories are created).
    """
    from PIL import Image

    page = background.copy()
    for placement in placements:
        if placement.content is None:
            continue
        box = placement.content
        with Image.open(panel_pngs[placement.panel.stem]) as source:
            panel = source.convert("RGBA")
        size = (max(1, _px(box.width_mm)), max(1, _px(box.height_mm)))
        panel = panel.resize(size, Image.Resampling.LANCZOS)
        white = Image.new("RGBA", size, "white")
        page.paste(Image.alpha_composite(white, panel).convert("RGB"), (_px(box.x_mm), _px(box.y_mm)))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    page.save(path, format="PNG", dpi=(PNG_DPI, PNG_DPI), optimize=False, compress_level=6)


def compose_figure(layout: FigureLayout, panel_pdfs: dict[str, str | Path], panel_pngs: dict[str, str | Path],
                   pdf_path: str | Path, png_path: str | Path) -> list[Placement]:
    """Build ``<figure>.pdf`` and ``.png`` from the panel files present (others: placeholders).

    Parameters
    ----------
    layout : FigureLayout
        The paper figure.
    panel_pdfs, panel_pngs : dict of str to (str or pathlib.Path)
        ``stem -> path`` of the panel files this run made; stems of the layout not in them are drawn
        as "not in this data set" placeholders.
    pdf_path, png_path : str or pathlib.Path
        Outputs.

    Returns
    -------
    list of Placement
        Where each panel was placed, in the layout's panel order.

    Raises
    ------
    LayoutError
        A panel file's letters differ from the paper's (see :func:`check_panel_letters`), or a PDF
        is given without its PNG.
    """
    import matplotlib.pyplot as plt

    if set(panel_pdfs) != set(panel_pngs):
        raise LayoutError(f"{layout.name}: panels {sorted(set(panel_pdfs) ^ set(panel_pngs))} lack a PDF or a PNG")
    for panel in layout.panels:
        if panel.stem in panel_pdfs:
            check_panel_letters(panel, panel_letters(panel_pdfs[panel.stem]), panel_pdfs[panel.stem])
    sizes = {stem: pdf_page_size_mm(path) for stem, path in panel_pdfs.items()}
    width_mm, height_mm, placements = place_panels(layout, sizes)
    fig = draw_background(layout, width_mm, height_mm, placements)
    try:
        background_pdf, background_png = _background_pdf(fig), _background_png(fig)
    finally:
        plt.close(fig)
    compose_pdf(background_pdf, placements, {k: Path(v) for k, v in panel_pdfs.items()}, height_mm, pdf_path)
    compose_png(background_png, placements, {k: Path(v) for k, v in panel_pngs.items()}, png_path)
    return placements


def letters_in_reading_order(layout: FigureLayout) -> list[str]:
    """The layout's letters ordered as a reader scans the page (row, then column).

    Parameters
    ----------
    layout : FigureLayout
        The paper figure.

    Returns
    -------
    list of str
        The panel letters, panels sorted by grid row then column.
    """
    ordered = sorted(layout.panels, key=lambda p: (p.cell[0], p.cell[1]))
    return [x for p in ordered for x in p.letters]
