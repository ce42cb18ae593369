"""The reviewer's dossier (qdanalysis/dossier.py), built from small hand-made inputs and read back page
by page: where each figure, verdict row, Table S1 and provenance entry lands, and byte stability."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from pypdf import PdfReader
from test_composite import draw_panel

from qdanalysis.composite import FigureLayout, PanelSpec, compose_figure, panel_letters
from qdanalysis.dossier import build_dossier

LAYOUTS = [
    FigureLayout(name="Figure1", title="Fig. 1 Optical properties", category="Figure 1", paper=True, width_mm=171,
                 grid=(1, 3), row_heights_mm=(None,),
                 panels=(PanelSpec(letters=("a",), cell=(0, 0), schematic="Synthesis schematic"),
                         PanelSpec(letters=("b",), cell=(0, 1), stem="Fig1b"),
                         PanelSpec(letters=("c",), cell=(0, 2), stem="Fig1c"))),
    FigureLayout(name="Figure2", title="Fig. 2 Chemical etching", category="Figure 2", paper=True, width_mm=171,
                 grid=(1, 1), row_heights_mm=(None,), panels=(PanelSpec(letters=("a",), cell=(0, 0), stem="Fig2a"),)),
]


def claim(quantity, sample, verdict, source, flag="ok", regenerated=86.23, uncertainty=0.81):
    return dict(quantity=quantity, sample=sample, published="86", regenerated=regenerated, uncertainty=uncertainty,
                unit="%", tolerance="±2", verdict=verdict, flag=flag, source=source)


# Fig. 1 carries 30 claims (more than one page of rows), Fig. 2 is not built but has one claim
REPORT = pd.DataFrame(
    [claim("plqy_percent", "InP_MS_ZnBr2", "pass", "abstract; Fig. 1c; Table S1"),
     claim("pl_peak_nm", "InP_MS_ZnI2", "warn", "p. 13120, text (Fig. 1b)", flag="warn: emission truncated at 800 nm")]
    + [claim(f"extra_quantity_{i}", f"SampleNumber{i}", "pass", f"p. 1, text (Fig. 1b) row {i}") for i in range(28)]
    + [claim("br_mg_L", "InP_MS_ZnBr2_T300", "fail", "p. 13121 (Fig. 2f)"),
       claim("valley_depth", "InP_core", "missing", "p. 13120, text", regenerated=float("nan"),
             uncertainty=float("nan"))])
TABLE_S1 = pd.DataFrame({"sample": ["InP_MS_pristine", "InP_MS_ZnBr2"]})
for _quantity, _values, _errors in [("pl_peak_nm", [530.119, 532.572], [0.057, 0.055]),
                                    ("pl_fwhm_nm", [36.94, 36.85], [0.13, 0.14]),
                                    ("plqy_percent", [73.05, 86.23], [0.61, 0.81]),
                                    ("tau1_ns", [21.06, 22.05], [0.21, 0.11]),
                                    ("A1_percent", [50.16, 79.25], [0.42, 0.34]),
                                    ("tau2_ns", [57.18, 58.72], [0.18, 0.33]),
                                    ("A2_percent", [49.84, 20.75], [0.42, 0.34]),
                                    ("tau_avg_ns", [47.410, 37.119], [0.048, 0.050])]:
    TABLE_S1[_quantity], TABLE_S1[f"{_quantity}_err"], TABLE_S1[f"{_quantity}_flag"] = _values, _errors, "ok"
TABLE_S1.loc[1, "plqy_percent_flag"] = "warn: fit rejected"
PROVENANCE = {"code": {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False},
              "packages": {"numpy": "2.4.6", "pypdf": "7.1.1", "python": "3.11.2"},
              "inputs": {"samples.csv": "aa" * 32},
              "raw_files": [{"file": f"pl/sample_{i}.csv", "sha256": f"{i:064x}"} for i in range(150)]}


@pytest.fixture(scope="module")
def dossier(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dossier")
    panels = {stem: draw_panel(directory, stem, letter) for stem, letter in (("Fig1b", "b"), ("Fig1c", "c"))}
    composite = directory / "Figure1.pdf"
    compose_figure(LAYOUTS[0], {k: v[0] for k, v in panels.items()}, {k: v[1] for k, v in panels.items()},
                   composite, directory / "Figure1.png")
    paths = []
    for name in ("first.pdf", "second.pdf"):
        pages = build_dossier(LAYOUTS, {"Figure1": composite}, REPORT, TABLE_S1, PROVENANCE, directory / name)
        paths.append(directory / name)
    return paths, pages


def texts(path):
    return [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]


def test_page_count_and_cover(dossier):
    (path, _), pages = dossier
    pdf_pages = texts(path)
    assert len(pdf_pages) == pages and pages >= 7
    cover = pdf_pages[0]
    assert "Verdict: not reproduced - 29 of 32 published claims pass (29 pass, 1 warn, 1 fail, 1 missing)" in cover
    assert "Figure 2 (not built)" in cover and "Contents" in cover
    assert all(f"page {i} of {pages}" in text for i, text in enumerate(pdf_pages, start=1))


def test_each_figure_is_followed_by_the_verdicts_of_its_numbers(dossier):
    (path, _), _ = dossier
    pdf_pages = texts(path)
    first = next(i for i, t in enumerate(pdf_pages) if i and "Figure 1: figures/Figure1.pdf" in t)
    # the composite is on that page, as vector content: its panels' letters and axis text are there
    assert {"a", "b", "c"} <= set(_bold_letters(path, first))
    assert "Fig1b axis" in pdf_pages[first] and "Schematic in the paper" in pdf_pages[first]
    assert "Fig. 1 Optical properties" in pdf_pages[first]  # the composite's own title
    second = next(i for i, t in enumerate(pdf_pages) if i and "Figure 2: figures/Figure2.pdf" in t)
    figure1_rows = " ".join(pdf_pages[first:second])
    assert "Published claims on Figure 1: 30 (29 pass, 1 warn, 0 fail, 0 missing)" in figure1_rows
    assert "InP_MS_ZnBr2" in figure1_rows and "86.23 ± 0.81 %" in figure1_rows
    assert "emission truncated at 800 nm" in figure1_rows  # the flag reason travels with the row
    assert "SampleNumber27" in figure1_rows  # rows continue on the next page
    # a figure this data set cannot build is still listed, with its claims
    assert second > first and "Not built" in pdf_pages[second] and "br_mg_L" in pdf_pages[second]
    assert "br_mg_L" not in figure1_rows


def _bold_letters(path, index):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_page(PdfReader(path).pages[index])
    single = path.with_name(f"page{index}.pdf")
    with open(single, "wb") as handle:
        writer.write(handle)
    return panel_letters(single)


def test_text_only_claims_table_s1_and_provenance_follow(dossier):
    (path, _), _ = dossier
    joined = " | ".join(texts(path)[1:])  # after the cover, whose contents name every section
    text_only = joined[joined.index("Claims stated in the text without a figure"):]
    assert "valley_depth" in text_only[:2000]
    table = joined[joined.index("Table S1 (regenerated"):]
    assert "PLQY (%)" in table and "τavg (ns)" in table and "73.05 ± 0.61" in table
    # the paper's nine columns do not fit one A4 width: split, but no cell is broken over two lines
    for cell in ("530.119 ± 0.057", "532.572 ± 0.055", "47.410 ± 0.048", "37.119 ± 0.050", "20.75 ± 0.34"):
        assert cell in table, cell
    assert table.count("InP_MS_pristine") >= 2  # each part repeats the sample column
    assert "86.23 ± 0.81 [1]" in table and "[1] InP_MS_ZnBr2, plqy_percent: fit rejected" in table
    assert "Published claims on Table S1: 1" in table
    provenance = joined[joined.index("Provenance"):]
    assert "0123456789abcdef0123456789abcdef01234567" in provenance and "pypdf" in provenance
    assert "pl/sample_149.csv" in provenance and f"{149:064x}" in provenance


def test_dossier_is_byte_identical_between_builds_and_has_no_dates(dossier):
    (first, second), _ = dossier
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    raw = first.read_bytes()
    assert b"/CreationDate" not in raw and b"/ID" not in raw.split(b"trailer")[-1]
