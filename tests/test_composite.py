"""Composite figures (qdanalysis/composite.py): layout file, placement, letters, placeholders, bytes.

Panels are drawn here with the project's own helpers (``panel_label``, ``save_figure``) so the
composite sees files exactly like the pipeline's; the checks read the composite back (text, fonts,
page size, pixels), not the code that wrote it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from qdanalysis.composite import (
    LAYOUTS,
    MAX_SCALE,
    PNG_DPI,
    PT_PER_MM,
    FigureLayout,
    LayoutError,
    PanelSpec,
    compose_figure,
    letters_in_reading_order,
    load_layouts,
    panel_letters,
    place_panels,
)


def draw_panel(directory, stem, letter, size_in=(3.3, 2.6), colour="tab:red"):
    """A single-panel file pair as a figure script writes it (letter via panel_label)."""
    import matplotlib.pyplot as plt

    from qdanalysis.plotting import panel_label, save_figure, use_style

    use_style()
    fig, ax = plt.subplots(figsize=size_in)
    ax.fill_between([0, 1], [0, 0], [1, 1], color=colour)
    ax.set_xlabel(f"{stem} axis")
    if letter:
        panel_label(ax, letter)
    pdf, png = directory / f"{stem}.pdf", directory / f"{stem}.png"
    save_figure(fig, pdf, png)
    return pdf, png


LAYOUT = FigureLayout(
    name="FigureT", title="Fig. T A test figure", category="Figure T", paper=True, width_mm=171, grid=(2, 2),
    row_heights_mm=(30.0, None),
    panels=(PanelSpec(letters=("a",), cell=(0, 0), span=(1, 2), schematic="A schematic of the synthesis"),
            PanelSpec(letters=("b",), cell=(1, 0), stem="PanelB"),
            PanelSpec(letters=("c",), cell=(1, 1), stem="PanelC")))


@pytest.fixture
def panels(tmp_path):
    b = draw_panel(tmp_path, "PanelB", "b", colour="tab:red")
    c = draw_panel(tmp_path, "PanelC", "c", colour="tab:blue")
    return {"PanelB": b, "PanelC": c}


def compose(tmp_path, panels, layout=LAYOUT, name="out"):
    pdf, png = tmp_path / f"{name}.pdf", tmp_path / f"{name}.png"
    placements = compose_figure(layout, {k: v[0] for k, v in panels.items()}, {k: v[1] for k, v in panels.items()},
                                pdf, png)
    return pdf, png, placements


def page_text(pdf):
    return PdfReader(pdf).pages[0].extract_text()


# ---------------------------------------------------------------- the shipped layout file
def test_shipped_layouts_follow_the_papers_captions():
    layouts = load_layouts(LAYOUTS)
    assert list(layouts)[:4] == ["Figure1", "Figure2", "Figure3", "Figure4"]
    expected = {"Figure1": "abcde", "Figure2": "abcdef", "Figure3": "abcdef", "Figure4": "abcde"}
    for name, letters in expected.items():
        assert "".join(letters_in_reading_order(layouts[name])) == letters, name
    schematics = {f"{name}{p.label}" for name, layout in layouts.items() for p in layout.panels if p.schematic}
    assert schematics == {"Figure1a", "Figure3a", "Figure3e", "Figure3f", "Figure4a"}
    # every data panel of the main figures is a single-panel file, under its own letter
    assert layouts["Figure1"].stems == ["Fig1b", "Fig1c", "Fig1d", "Fig1e"]
    assert layouts["Figure2"].stems == ["Fig2a", "Fig2b", "Fig2c", "Fig2d", "Fig2e", "Fig2f"]
    assert layouts["Figure3"].stems == ["Fig3b", "Fig3c", "Fig3d"]
    assert layouts["Figure4"].stems == ["Fig4b", "Fig4c", "Fig4d", "Fig4e"]
    # figures the paper does not have are marked as such
    assert [name for name, layout in layouts.items() if not layout.paper] == ["FigureAdded"]
    assert {"Fig2g", "FigArrhenius"} <= set(layouts["FigureAdded"].stems)


@pytest.mark.parametrize("change, message", [
    ({"cell": [0, 2]}, "leaves the"),
    ({"cell": [1, 0], "span": [1, 2]}, "share cell"),
    ({"letters": ["a"]}, "in order"),
    ({"schematic": "also a schematic"}, "exactly one of"),
    ({"letters": ["B"]}, "lower-case"),
])
def test_bad_layouts_are_refused(tmp_path, change, message):
    import yaml

    panel_c = {"letters": ["c"], "cell": [1, 1], "stem": "PanelC"}
    panel_c.update(change)
    document = {"FigureT": {"title": "t", "category": "c", "paper": True, "width_mm": 100, "grid": [2, 2],
                            "panels": [{"letters": ["a"], "cell": [0, 0], "span": [1, 2], "schematic": "s"},
                                       {"letters": ["b"], "cell": [1, 0], "stem": "PanelB"}, panel_c]}}
    path = tmp_path / "layouts.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(LayoutError, match=message):
        load_layouts(path)


# ---------------------------------------------------------------- placement
def test_panels_keep_their_aspect_and_stay_inside_their_cells():
    sizes = {"PanelB": (80.0, 60.0), "PanelC": (50.0, 75.0)}
    width, height, placements = place_panels(LAYOUT, sizes)
    assert width == 171
    for placement in placements:
        cell, content = placement.cell, placement.content
        assert 0 <= cell.x_mm and cell.x_mm + cell.width_mm <= width + 1e-9
        assert cell.y_mm + cell.height_mm <= height + 1e-9
        if content is None:
            assert placement.panel.schematic  # only the schematic is drawn
            continue
        w, h = sizes[placement.panel.stem]
        assert content.width_mm / content.height_mm == pytest.approx(w / h)
        assert cell.x_mm - 1e-9 <= content.x_mm and content.x_mm + content.width_mm <= cell.x_mm + cell.width_mm + 1e-9
        assert content.y_mm == cell.y_mm and content.height_mm <= cell.height_mm + 1e-9
    # the auto-height row is as tall as the tallest panel scaled to its cell width, but no panel is
    # enlarged beyond MAX_SCALE (its text would outgrow the paper's)
    column = placements[1].cell.width_mm
    assert placements[1].cell.height_mm == pytest.approx(75.0 * min(column / 50.0, MAX_SCALE))
    assert max(p.scale for p in placements) <= MAX_SCALE
    assert placements[0].cell.height_mm == 30.0


# ---------------------------------------------------------------- composing
def test_composite_pdf_places_panels_with_their_letters_and_labels_the_schematic(tmp_path, panels):
    pdf, png, placements = compose(tmp_path, panels)
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1
    width_mm = float(reader.pages[0].mediabox.width) / PT_PER_MM
    assert width_mm == pytest.approx(171, abs=0.01)
    assert sorted(panel_letters(pdf)) == ["a", "b", "c"]
    text = page_text(pdf)
    assert "Fig. T A test figure" in text
    assert "Schematic in the paper" in text and "schematic of the synthesis" in text
    assert "PanelB axis" in text and "PanelC axis" in text  # the panels' own vector text came along


def test_a_panel_the_data_set_lacks_becomes_a_labelled_placeholder(tmp_path, panels):
    only_b = {"PanelB": panels["PanelB"]}
    pdf, png, placements = compose(tmp_path, only_b)
    text = page_text(pdf)
    assert "Not in this data set" in text and "figures/PanelC" in text
    assert sorted(panel_letters(pdf)) == ["a", "b", "c"]  # the placeholder carries the paper's letter


def test_a_panel_drawn_with_the_wrong_letter_stops_the_composite(tmp_path, panels):
    wrong = dict(panels, PanelC=draw_panel(tmp_path, "PanelC", "d"))
    with pytest.raises(LayoutError, match=r"PanelC.pdf: carries panel letter\(s\) \['d'\], the paper prints \['c'\]"):
        compose(tmp_path, wrong)
    unlettered = dict(panels, PanelC=draw_panel(tmp_path, "PanelC", ""))
    with pytest.raises(LayoutError, match="PanelC.pdf"):
        compose(tmp_path, unlettered)


def test_composite_pdf_embeds_its_fonts_and_has_no_dates_or_id(tmp_path, panels):
    pdf, _, _ = compose(tmp_path, panels)
    reader = PdfReader(pdf)
    fonts = {}
    for resource in reader.pages[0]["/Resources"]["/Font"].values():
        font = resource.get_object()
        fonts[str(font["/BaseFont"])] = font
    assert fonts
    for name, font in fonts.items():
        if font["/Subtype"] == "/Type0":
            font = font["/DescendantFonts"][0].get_object()
        if font["/Subtype"] == "/Type3":
            continue  # glyphs are drawn in the file itself
        descriptor = font["/FontDescriptor"].get_object()
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), f"{name} not embedded"
    raw = pdf.read_bytes()
    assert b"/ID" not in raw.split(b"trailer")[-1] and b"/CreationDate" not in raw and b"/ModDate" not in raw
    assert reader.metadata is None


def test_composite_png_matches_the_pdf_page_and_shows_each_panel_in_its_box(tmp_path, panels):
    pdf, png, placements = compose(tmp_path, panels)
    page = PdfReader(pdf).pages[0].mediabox
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    # same page at 300 dpi (matplotlib truncates the pixel count)
    assert abs(image.shape[1] - float(page.width) / 72 * PNG_DPI) < 1
    assert abs(image.shape[0] - float(page.height) / 72 * PNG_DPI) < 1

    def mean_colour(box):
        px = lambda mm: int(round(mm / 25.4 * PNG_DPI))  # noqa: E731
        x0, y0 = px(box.x_mm + box.width_mm * 0.4), px(box.y_mm + box.height_mm * 0.3)
        x1, y1 = px(box.x_mm + box.width_mm * 0.6), px(box.y_mm + box.height_mm * 0.5)
        return image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)

    red, blue = mean_colour(placements[1].content), mean_colour(placements[2].content)
    assert red[0] > red[2] + 80 and blue[2] > blue[0] + 80  # panel b (red) left, panel c (blue) right


def test_composites_are_byte_identical_between_builds(tmp_path, panels):
    first = compose(tmp_path, panels, name="first")
    second = compose(tmp_path, panels, name="second")
    for a, b in zip(first[:2], second[:2], strict=False):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), a.name



def _text_reports(pdf, cut: bool):
    """Every non-blank text pypdf reports from a page (text, matrices, font, size), the page's content
    cut to its text operations (as panel_letters reads it) or whole."""
    from pypdf import apply_configuration

    from qdanalysis.composite import _keep_text_operations

    reader = PdfReader(pdf)
    page = reader.pages[0]
    if cut:
        _keep_text_operations(page, reader)
    reports = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            reports.append((text, [round(v, 3) for v in cm], [round(v, 3) for v in tm],
                            str((font or {}).get("/BaseFont", "")), round(size, 3)))

    with apply_configuration(xform_maximum_invocations_per_extraction=10_000_000):
        page.extract_text(visitor_text=visit)
    return reports


def test_letters_read_from_the_cut_content_equal_those_of_the_whole_page(tmp_path, panels):
    """panel_letters reads only the text operations; on a marker-heavy two-letter panel and on a
    composite placing it, pypdf must report every text with the same matrices and font as from the
    whole page, in the same order."""
    import matplotlib.pyplot as plt

    from qdanalysis.plotting import panel_label, save_figure, use_style

    use_style()
    rng = np.random.default_rng(7)
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.0, 2.6))
    left.plot(rng.normal(size=3000), rng.normal(size=3000), ".", ms=1)  # markers: Form XObjects
    right.semilogy(np.arange(200), np.exp(-np.arange(200) / 30.0), "o", ms=2)
    right.set_title("bold x", fontweight="bold")
    right.text(0.5, 0.5, "zz", fontweight="bold", rotation=30, transform=right.transAxes)
    panel_label(left, "c")
    pdf, png = tmp_path / "PanelMarkers.pdf", tmp_path / "PanelMarkers.png"
    save_figure(fig, pdf, png)
    whole = _text_reports(pdf, cut=False)
    assert len(whole) > 20 and _text_reports(pdf, cut=True) == whole
    assert panel_letters(pdf) == ["c"]
    composite, _, _ = compose(tmp_path, dict(panels, PanelC=(pdf, png)))
    whole = _text_reports(composite, cut=False)
    assert any(r[1][:4] != [1, 0, 0, 1] for r in whole)  # placed panels: scaled CTMs
    assert _text_reports(composite, cut=True) == whole
