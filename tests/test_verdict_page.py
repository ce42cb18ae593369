"""The report's front page (qdanalysis/verdict_page.py) and the claim -> figure mapping it uses.

The page is rendered here as Snakemake renders it (Jinja2, then docutils with the link targets
Snakemake appends for every category and result file), with docutils set to stop at the first
warning: an unresolved link, a broken table or stray markup fails the test.
"""

from __future__ import annotations

import re

import jinja2
import pandas as pd
from docutils.core import publish_parts

from qdanalysis.report import claim_sections, claims_of_section, overall_verdict, verdict_counts
from qdanalysis.verdict_page import FigureEntry, rst_escape, verdict_page_rst

REPORT = pd.DataFrame([
    ("plqy_percent", "InP_MS_ZnBr2", "86", 86.2, 0.8, "%", "±2", "pass", "ok", "abstract; p. 13120; Fig. 1c; Table S1"),
    ("pl_peak_nm", "InP_MS_ZnBr2", "> InP_MS_pristine", 531.2, 0.1, "nm", "2σ", "warn",
     "warn: emission {{ reaches }} the *scan* edge_", "p. 13120, text: slight red shift (Fig. 1b)"),
    ("valley_depth", "InP_core", "0.43", float("nan"), float("nan"), "", "±0.02", "missing", "ok", "p. 13120, text"),
    ("br_mg_L", "InP_MS_ZnBr2_T300", "> x", 0.3, 0.01, "mg/L", "2σ", "fail", "ok",
     "p. 13121, text: Br- maximum in the third etch at 300 C (Fig. 2f)"),
    ("in3d52_eV", "CdSe", "= a", 444.6, 0.02, "eV", "±0.1", "pass", "ok", "p. 13123, text (Fig. 4e)"),
], columns=["quantity", "sample", "published", "regenerated", "uncertainty", "unit", "tolerance", "verdict", "flag",
            "source"])

FIGURES = [FigureEntry("Figure1", "Fig. 1 Optical", "Figure 1", 4, 4, True),
           FigureEntry("Figure2", "Fig. 2 Etching", "Figure 2", 2, 6, True),
           FigureEntry("Figure4", "Fig. 4 Oxidised", "Figure 4", 0, 4, False)]
TARGETS = {"Figure 1", "Figure 2", "Table S1", "Reproduction report", "reproduction_dossier.pdf",
           "reproduction_report.csv"}


def render_like_snakemake(rst: str, targets: set[str]) -> str:
    """Jinja2 then docutils, with Snakemake's appended link targets; docutils warnings are errors."""
    links = "\n\n" + "\n".join(f".. _{t}: javascript:app.showCategory('{t}')" for t in sorted(targets)) + "\n"
    text = jinja2.Environment().from_string(rst + links).render(snakemake=None, categories={}, files=[])
    return publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["html_body"]


def test_claims_map_to_the_figures_they_cite():
    assert claim_sections("abstract; p. 13120; Fig. 1c; Table S1") == ["Figure1", "TableS1"]
    assert claim_sections("p. 13121, text: gradual layer-by-layer etching (Fig. 2a-d)") == ["Figure2"]
    assert claim_sections("p. 13121, text: OAm halides similar improvement (Fig. S3)") == ["FigureS3"]
    assert claim_sections("Fig. 4d; Fig. 1e; Fig. 4e") == ["Figure4", "Figure1"]
    assert claim_sections("p. 13120, text") == ["text"]
    assert list(claims_of_section(REPORT, "Figure1")["quantity"]) == ["plqy_percent", "pl_peak_nm"]
    assert list(claims_of_section(REPORT, "TableS1")["quantity"]) == ["plqy_percent"]


def test_overall_verdict_is_decided_by_the_worst_claim():
    assert overall_verdict(verdict_counts(REPORT)) == "not reproduced"
    assert overall_verdict(verdict_counts(REPORT[REPORT["verdict"] != "fail"])) == "incomplete"
    assert overall_verdict(verdict_counts(REPORT[REPORT["verdict"].isin(["pass", "warn"])])) == \
        "reproduced with warnings"
    assert overall_verdict(verdict_counts(REPORT[REPORT["verdict"] == "pass"])) == "reproduced"


def test_verdict_page_renders_without_warnings_and_links_only_existing_targets():
    html = render_like_snakemake(verdict_page_rst(REPORT, FIGURES, TARGETS), TARGETS)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Verdict: not reproduced." in text
    assert "2 of 5 published claims pass" in text
    links = dict(re.findall(r'<a class="reference external" href="([^"]+)">([^<]+)</a>', html))
    shown = set(links.values())
    assert {"Figure 1", "Figure 2", "Table S1", "reproduction_dossier.pdf", "Reproduction report"} <= shown
    assert "Figure 4" not in shown and "Figure 4 (not built)" in text  # no target: plain text
    # the per-figure table: Figure 1 has 1 pass and 1 warn; Figure 2 one fail; panels 2/6
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", r, flags=re.S)] for r in rows]
    table = {c[0]: c[1:] for c in cells if c}
    assert table["Figure 1"] == ["1", "1", "0", "0", "4/4"]
    assert table["Figure 2"] == ["0", "0", "1", "0", "2/6"]
    assert table["Table S1"] == ["1", "0", "0", "0", "–"]
    # every claim that did not pass is listed with its reason, markup and Jinja syntax shown literally
    assert "emission {{ reaches }} the *scan* edge_" in text.replace("&quot;", '"')
    assert "valley_depth" in text and "br_mg_L" in text


def test_rst_escape_neutralises_markup():
    assert rst_escape("a_ *b* `c`") == "a\\_ \\*b\\* \\`c\\`"
