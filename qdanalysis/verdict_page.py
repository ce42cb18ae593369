"""The front page of the Snakemake HTML report: the reproduction verdict, per figure, with links.

``snakemake --report`` renders the workflow-level ``report:`` page (reStructuredText, first put
through Jinja2) beside the rule graph on the report's landing view. Rule ``write_verdict_page``
writes that page from ``results/reproduction_report.csv``, so a reviewer opening the report reads
first whether the paper's numbers were reproduced:

* the overall verdict and the counts of pass / warn / fail / missing claims;
* a table with one row per composite figure (then Table S1 and the claims stated in the text only):
  its counts, how many of its data panels this data set regenerates, and a link to the report
  category holding its panels and composite;
* every claim that did not pass, with the reason carried by its flag.

Links use the targets Snakemake appends to the page: one per report category (`` `Figure 1`_ ``)
and one per result file (`` `reproduction_dossier.pdf`_ ``). A reference to a target that does not
exist would render as a docutils error, so only categories and files of this run are linked (the
rule passes them in). The text is wrapped in ``{% raw %}`` so no sample name or flag reason can be
read as Jinja2 syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from qdanalysis.report import (
    TABLE_S1_SECTION,
    TEXT_SECTION,
    VERDICTS,
    claims_of_section,
    overall_verdict,
    verdict_counts,
)

_RST_SPECIAL = "\\`*_|[]<>"


@dataclass(frozen=True)
class FigureEntry:
    """A composite figure as the verdict page lists it.

    Attributes
    ----------
    name : str
        Composite stem, e.g. "Figure1".
    title : str
        The paper's caption title.
    category : str
        Snakemake report category of its panels and composite.
    panels_present : int
        Data panels this run regenerated.
    panels_total : int
        Data panels of the layout (schematics excluded).
    built : bool
        Whether the composite exists in this run.
    """

    name: str            # composite stem, e.g. "Figure1"
    title: str           # the paper's caption title
    category: str        # Snakemake report category of its panels and composite
    panels_present: int  # data panels this run regenerated
    panels_total: int    # data panels of the layout (schematics excluded)
    built: bool          # whether the composite exists in this run


def rst_escape(text: str) -> str:
    """Plain text safe inside reStructuredText (no inline markup, no references).

    Parameters
    ----------
    text : str
        Any text (converted with ``str``).

    Returns
    -------
    str
        The text with every reStructuredText markup character backslash-escaped.
    """
    return "".join("\\" + c if c in _RST_SPECIAL else c for c in str(text))


def _link(name: str, targets: set[str]) -> str:
    return f"`{name}`_" if name in targets else rst_escape(name)


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines


def verdict_page_rst(report: pd.DataFrame, figures: list[FigureEntry], targets: set[str],
                     raw_dir: str = "raw") -> str:
    """The reStructuredText of the report's front page.

    Parameters
    ----------
    report : pandas.DataFrame
        ``results/reproduction_report.csv``.
    figures : list of FigureEntry
        Composite figures in the paper's order.
    targets : set of str
        Report categories and result-file names that exist in this run (links to anything else
        are written as plain text).
    raw_dir : str, optional
        Shown in the verdict sentence. Default is "raw".

    Returns
    -------
    str
        The page, wrapped in Jinja2 ``{% raw %}``/``{% endraw %}``.
    """
    counts = verdict_counts(report)
    total = sum(counts.values())
    verdict = overall_verdict(counts)
    summary = ", ".join(f"{counts[v]} {v}" for v in VERDICTS)
    title = "Reproduction of Yuan et al., Chem. Sci. 2023, 14, 13119"
    lines = ["{% raw %}", "", title, "=" * len(title), "",
             f"**Verdict: {verdict}.** {counts['pass']} of {total} published claims pass ({summary}), "
             f"regenerated from the raw files in ``{rst_escape(raw_dir)}``. A *warn* is a claim the number "
             "would pass but whose analysis flagged it; *missing* means this data set has no such number.", ""]
    further = [f"the {_link('reproduction_dossier.pdf', targets)} (every paper figure rebuilt beside the "
               "verdicts for its numbers, Table S1, provenance)",
               f"the {_link('reproduction_report.csv', targets)} (every claim, published against regenerated)"]
    lines += ["For a reviewer: " + "; ".join(further) + ".", ""]

    rows = []
    for figure in figures:
        claims = claims_of_section(report, figure.name)
        c = verdict_counts(claims)
        name = _link(figure.category, targets) if figure.built else rst_escape(f"{figure.category} (not built)")
        panels = f"{figure.panels_present}/{figure.panels_total}" if figure.panels_total else "–"
        rows.append([name, *(str(c[v]) for v in VERDICTS), panels])
    text_only = f"Text only ({_link('Reproduction report', targets)})"
    for section, label in ((TABLE_S1_SECTION, _link("Table S1", targets)), (TEXT_SECTION, text_only)):
        c = verdict_counts(claims_of_section(report, section))
        rows.append([label, *(str(c[v]) for v in VERDICTS), "–"])
    lines += ["Claims per figure (a claim citing several figures counts in each; *panels*: data panels "
              "this data set regenerates, of those the paper shows):", ""]
    lines += _table(rows, ["Figure", *VERDICTS, "panels"])
    lines.append("")

    not_passed = report[report["verdict"] != "pass"]
    if not_passed.empty:
        lines += ["Every claim passes.", ""]
    else:
        lines += ["Claims that did not pass:", ""]
        for claim in not_passed.itertuples(index=False):
            reason = "" if claim.flag in ("ok", "") or pd.isna(claim.flag) else f" - {rst_escape(claim.flag)}"
            lines.append(f"- **{claim.verdict}** ``{claim.quantity}`` of ``{claim.sample}`` "
                         f"(published {rst_escape(claim.published)}; {rst_escape(claim.source)}){reason}")
        lines.append("")
    lines += ["{% endraw %}", ""]
    return "\n".join(lines)
