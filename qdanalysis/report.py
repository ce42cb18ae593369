"""Published-versus-regenerated comparison and Table S1 assembly (pure functions on tables).

The published table (``published.csv``) is read only here, by the report rule. Each row is one claim:

* ``relation = equal``: pass if |regenerated - published| <= tolerance (tolerance states the
  paper's rounding and the method's accuracy; the regenerated 1-sigma uncertainty is reported too);
* ``relation = greater_than`` / ``less_than``: a qualitative claim against ``reference_sample`` (e.g.
  "ZnBr2 PL peak is red-shifted from pristine"); pass if the difference has the claimed sign and
  exceeds twice its combined uncertainty, i.e. the regenerated data support the claim significantly.
  A ``tolerance`` given on such a row replaces the 2-sigma margin (``0`` for "below the noise level":
  the value must lie below the level, however noisy);
* an optional ``reference_quantity`` compares against another quantity of the reference sample (e.g.
  Br- of the core etch against the blanks' noise level); a missing uncertainty counts as zero;
* a quantity whose uncertainty includes a systematic common to every sample measured on the same
  instrument (:data:`COMMON_SYSTEMATICS`, e.g. the PLQY's sphere calibration) is compared between two
  samples with that part removed in quadrature: it shifts both numbers alike and cancels in the claim;
* ``relation = same_as``: a claim that a quantity is unchanged from ``reference_sample`` (e.g. "the
  zinc blende structure remains unchanged"); pass if the two differ by at most ``tolerance``.

A regenerated number (or the reference it is compared with) that carries a ``warn`` flag cannot pass
silently: a claim it would pass gets the verdict ``warn`` and the flag's reason in the ``flag``
column; a claim it fails stays ``fail``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from qdanalysis.results import OK, flag_from, flag_reasons, merge_flags

PUBLISHED_COLUMNS = ["quantity", "sample", "published", "unit", "tolerance", "relation", "reference_sample",
                     "source"]  # optional: reference_quantity
REPORT_COLUMNS = ["quantity", "sample", "published", "regenerated", "uncertainty", "unit", "tolerance",
                  "verdict", "flag", "source"]
VERDICTS = ("pass", "warn", "fail", "missing")
# Table S1's column headings as the paper prints them (ESI Table S1; text p. 13121: "tau1 %" is the
# band-edge (tau1) amplitude fraction, tau_avg the average lifetime). Other quantities: "name (unit)".
TABLE_S1_HEADERS = {"pl_peak_nm": "PL peak (nm)", "pl_fwhm_nm": "FWHM (nm)", "plqy_percent": "PLQY (%)",
                    "tau1_ns": "τ1 (ns)", "A1_percent": "τ1 %", "tau2_ns": "τ2 (ns)", "A2_percent": "τ2 %",
                    "tau_avg_ns": "τavg (ns)"}
# Columns this pipeline adds after the paper's (the parts of the PLQY uncertainty)
TABLE_S1_EXTRA_HEADERS = {"plqy_stat_percent": "PLQY σ counting (%)", "plqy_sys_percent": "PLQY σ sphere (%)"}


# quantity -> the quantity whose value is the part of its uncertainty common to every sample of one
# instrument (qdanalysis.plqy: spectral calibration of the sphere)
COMMON_SYSTEMATICS = {"plqy_percent": "plqy_sys_percent"}


def _comparison_sigma(regenerated: pd.DataFrame, quantity: str, sample: str, sigma: float) -> float:
    """``sigma`` without the instrument-common systematic of ``quantity`` (if the table holds one)."""
    if quantity not in COMMON_SYSTEMATICS or not np.isfinite(sigma):
        return sigma
    common, _ = _lookup(regenerated, COMMON_SYSTEMATICS[quantity], sample)
    if not np.isfinite(common):
        return sigma
    return math.sqrt(max(sigma**2 - common**2, 0.0))


def _lookup(regenerated: pd.DataFrame, quantity: str, sample: str) -> tuple[float, float]:
    value, sigma, _ = _lookup_flagged(regenerated, quantity, sample)
    return value, sigma


def _lookup_flagged(regenerated: pd.DataFrame, quantity: str, sample: str) -> tuple[float, float, str]:
    hit = regenerated[(regenerated["quantity"] == quantity) & (regenerated["sample"] == sample)]
    if hit.empty:
        return math.nan, math.nan, OK
    flag = hit["flag"].iloc[0] if "flag" in hit else OK
    return float(hit["value"].iloc[0]), float(hit["uncertainty"].iloc[0]), flag if isinstance(flag, str) else OK


def reproduction_report(published: pd.DataFrame, regenerated: pd.DataFrame) -> pd.DataFrame:
    """One row per published claim with the regenerated value, uncertainty and a pass/fail verdict.

    Parameters
    ----------
    published : pandas.DataFrame
        The published claims (``published.csv``): columns :data:`PUBLISHED_COLUMNS`, optionally
        ``reference_quantity``; the relations are described in the module docstring.
    regenerated : pandas.DataFrame
        The concatenated regenerated quantities (``quantity``, ``sample``, ``value``, ``uncertainty``,
        ``flag``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REPORT_COLUMNS`; ``verdict`` is ``pass``, ``warn`` (would pass but flagged),
        ``fail`` or ``missing`` (no regenerated value, or none for the sample it is compared with).

    Raises
    ------
    ValueError
        The published table lacks a required column, or a claim has an unknown relation.
    """
    missing = set(PUBLISHED_COLUMNS) - set(published.columns)
    if missing:
        raise ValueError(f"published table lacks columns {sorted(missing)}")
    if "reference_quantity" not in published:
        published = published.assign(reference_quantity="")
    published = published.fillna({"reference_quantity": "", "reference_sample": ""})
    out = []
    for claim in published.itertuples(index=False):
        ref_quantity = claim.reference_quantity or claim.quantity
        value, sigma, flag = _lookup_flagged(regenerated, claim.quantity, claim.sample)
        ref_flag, ref_value = OK, 0.0
        row = {"quantity": claim.quantity, "sample": claim.sample, "regenerated": value, "uncertainty": sigma,
               "unit": claim.unit, "source": claim.source}
        if claim.relation == "equal":
            row["published"] = f"{float(claim.published):g}"
            row["tolerance"] = f"±{float(claim.tolerance):g}"
            ok = abs(value - float(claim.published)) <= float(claim.tolerance)
        elif claim.relation in ("greater_than", "less_than"):
            ref_value, ref_sigma, ref_flag = _lookup_flagged(regenerated, ref_quantity, claim.reference_sample)
            symbol = ">" if claim.relation == "greater_than" else "<"
            reference = claim.reference_sample + ("" if ref_quantity == claim.quantity else f" {ref_quantity}")
            row["published"] = f"{symbol} {reference}"
            margin_given = str(claim.tolerance).strip() not in ("", "nan")
            if ref_quantity == claim.quantity:  # same instrument: its common systematic cancels
                sigma_cmp = _comparison_sigma(regenerated, claim.quantity, claim.sample, sigma)
                ref_sigma_cmp = _comparison_sigma(regenerated, ref_quantity, claim.reference_sample, ref_sigma)
            else:
                sigma_cmp, ref_sigma_cmp = sigma, ref_sigma
            margin = (float(claim.tolerance) if margin_given
                      else 2 * math.hypot(np.nan_to_num(sigma_cmp), np.nan_to_num(ref_sigma_cmp)))
            label = f"margin {margin:g}" if margin_given else "2σ"
            row["tolerance"] = f"{label} (ref {ref_value:.4g})" if np.isfinite(ref_value) else label
            diff = value - ref_value if claim.relation == "greater_than" else ref_value - value
            ok = diff > margin
        elif claim.relation == "same_as":
            ref_value, _, ref_flag = _lookup_flagged(regenerated, ref_quantity, claim.reference_sample)
            row["published"] = f"= {claim.reference_sample}"
            row["tolerance"] = f"±{float(claim.tolerance):g} (ref {ref_value:.4g})"
            ok = abs(value - ref_value) <= float(claim.tolerance)
        else:
            raise ValueError(f"unknown relation {claim.relation!r} for {claim.quantity}/{claim.sample}")
        row["flag"] = merge_flags(flag, *([ref_flag] if ref_flag != OK else []))
        if ref_flag != OK:  # say whose number the reason belongs to
            row["flag"] = merge_flags(flag, flag_from(f"{claim.reference_sample}: {r}" for r in flag_reasons(ref_flag)))
        if not (np.isfinite(value) and np.isfinite(ref_value)):  # its number, or the one it is compared with
            row["verdict"] = "missing"
        elif not ok:
            row["verdict"] = "fail"
        else:
            row["verdict"] = "pass" if row["flag"] == OK else "warn"
        out.append(row)
    return pd.DataFrame(out, columns=REPORT_COLUMNS)


def table_s1(regenerated: pd.DataFrame, samples: list[str], quantities: list[str]) -> pd.DataFrame:
    """Table S1: one row per sample; value, 1-sigma and flag columns per quantity (missing -> NaN).

    Parameters
    ----------
    regenerated : pandas.DataFrame
        The concatenated regenerated quantities.
    samples : list of str
        Sample ids, one row each, in this order.
    quantities : list of str
        Quantity ids, in column order.

    Returns
    -------
    pandas.DataFrame
        Columns ``sample`` and, per quantity ``q``, ``q``, ``q_err`` and ``q_flag``.
    """
    rows = []
    for sample in samples:
        row = {"sample": sample}
        for quantity in quantities:
            row[quantity], row[quantity + "_err"], row[quantity + "_flag"] = _lookup_flagged(
                regenerated, quantity, sample)
        rows.append(row)
    columns = ["sample"] + [f"{q}{suffix}" for q in quantities for suffix in ("", "_err", "_flag")]
    return pd.DataFrame(rows, columns=columns)  # the columns even without a sample (a sheet without them)


def format_measurement(value: float, sigma: float) -> tuple[str, str | None]:
    """Value and 1-sigma uncertainty as printed, both rounded to the uncertainty's second significant digit.

    The one rounding rule of every regenerated number we print (Table S1, ``numbers.tex``, the
    dossier): two significant digits of the uncertainty, the value to the same decimal place
    (``86.23 +- 0.81``, ``1234 +- 56``, ``12300 +- 2300``). Without a usable uncertainty (NaN, zero:
    an etch-cycle index, an upper limit) the value gets four significant digits and ``None`` comes
    back for the uncertainty; a NaN value gives ``'nan'``.

    Parameters
    ----------
    value : float
        The value.
    sigma : float
        Its 1-sigma uncertainty, in the same unit.

    Returns
    -------
    value_text : str
        The rounded value.
    sigma_text : str or None
        The rounded uncertainty, or None when there is no usable one.
    """
    if not np.isfinite(value):
        return "nan", None
    if not np.isfinite(sigma) or sigma <= 0:
        return f"{value:.4g}", None
    exponent = int(math.floor(math.log10(sigma))) - 1  # decimal place of sigma's second significant digit
    if exponent < 0:
        return f"{value:.{-exponent}f}", f"{sigma:.{-exponent}f}"
    step = 10 ** exponent
    return f"{round(value / step) * step:.0f}", f"{round(sigma / step) * step:.0f}"


def _format(value, sigma) -> str:
    if not np.isfinite(value):
        return "–"
    value_text, sigma_text = format_measurement(value, sigma)
    return value_text if sigma_text is None else f"{value_text} ± {sigma_text}"


def markdown_table(frame: pd.DataFrame) -> str:
    """GitHub-flavoured Markdown pipe table (no extra dependency).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; floats are printed with 4 significant digits, non-finite floats as empty cells.

    Returns
    -------
    str
        The Markdown text, ending in a newline.
    """
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join("" if (isinstance(v, float) and not np.isfinite(v)) else
                              (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def table_s1_cells(table: pd.DataFrame, quantities: list[str], units: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Table S1 as printed: the paper's columns first, in its order and with its headings
    (:data:`TABLE_S1_HEADERS`), then any other quantity; ``value ± sigma`` cells, and for a flagged value a
    marker ``[n]`` in its cell and the note ``[n] sample, quantity: reason``.

    Parameters
    ----------
    table : pandas.DataFrame
        Table S1 as :func:`table_s1` builds it.
    quantities : list of str
        Quantity ids to show; the paper's come first in its order, the others after them in this order.
    units : dict of str to str
        Unit of each quantity, used in headings not in :data:`TABLE_S1_HEADERS` or
        :data:`TABLE_S1_EXTRA_HEADERS`.

    Returns
    -------
    shown : pandas.DataFrame
        Column ``Sample`` and one text column per quantity.
    notes : list of str
        The footnotes of the flagged values, numbered in order.
    """
    shown = pd.DataFrame({"Sample": table["sample"]})
    notes: list[str] = []
    paper = list(TABLE_S1_HEADERS)
    ordered = sorted(quantities, key=lambda q: (paper.index(q) if q in paper else len(paper), quantities.index(q)))
    headers = {**TABLE_S1_HEADERS, **TABLE_S1_EXTRA_HEADERS}
    for quantity in ordered:
        unit = units.get(quantity, "")
        title = headers.get(quantity) or (f"{quantity} ({unit})" if unit else quantity)
        flags = table[quantity + "_flag"] if quantity + "_flag" in table else [OK] * len(table)
        cells = []
        for sample, value, sigma, flag in zip(table["sample"], table[quantity], table[quantity + "_err"], flags,
                                              strict=False):
            cell = _format(value, sigma)
            reasons = flag_reasons(flag)
            if reasons and np.isfinite(value):
                notes.append(f"[{len(notes) + 1}] {sample}, {quantity}: {'; '.join(reasons)}")
                cell += f" [{len(notes)}]"
            cells.append(cell)
        shown[title] = cells
    return shown, notes


def table_s1_markdown(table: pd.DataFrame, quantities: list[str], units: dict[str, str]) -> str:
    """Markdown Table S1 (cells of :func:`table_s1_cells`), flagged values footnoted below it.

    Parameters
    ----------
    table : pandas.DataFrame
        Table S1 as :func:`table_s1` builds it.
    quantities : list of str
        Quantity ids to show (columns ordered as :func:`table_s1_cells` does).
    units : dict of str to str
        Unit of each quantity, for headings.

    Returns
    -------
    str
        The Markdown text.
    """
    shown, notes = table_s1_cells(table, quantities, units)
    text = markdown_table(shown)
    if notes:
        text += "\nFlagged values (the analysis found a reason not to trust them as printed):\n\n"
        text += "\n".join(f"- {note}" for note in notes) + "\n"
    return text


# ---------------------------------------------------------------- claims by figure (reviewer summaries)
# "Fig. 1c", "Fig. S1a", "Figs 2a-d" -> composite Figure1 / FigureS1 / Figure2 (qdanalysis/composite.py)
_FIGURE_CITED = re.compile(r"\bFigs?\.?\s*(S?)(\d+)")
_TABLE_S1_CITED = re.compile(r"\bTable\s+S1\b")
TABLE_S1_SECTION = "TableS1"
TEXT_SECTION = "text"


def claim_sections(source: str) -> list[str]:
    """Where a claim's number appears in the paper, from its ``source`` column.

    The composite figures it cites (``'Figure1'``, ``'FigureS3'``, in order of first citation),
    then ``'TableS1'`` if it cites Table S1; ``['text']`` when it cites neither (a number stated in
    the text only). A claim may belong to several sections.

    Parameters
    ----------
    source : str
        The claim's source, e.g. ``"Fig. 1c"`` (a non-string counts as empty).

    Returns
    -------
    list of str
        The section names, without repeats.
    """
    source = "" if not isinstance(source, str) else source
    sections = [f"Figure{prefix}{number}" for prefix, number in _FIGURE_CITED.findall(source)]
    if _TABLE_S1_CITED.search(source):
        sections.append(TABLE_S1_SECTION)
    return list(dict.fromkeys(sections)) or [TEXT_SECTION]


def claims_of_section(report: pd.DataFrame, section: str) -> pd.DataFrame:
    """The reproduction-report rows whose source cites ``section`` (see :func:`claim_sections`).

    Parameters
    ----------
    report : pandas.DataFrame
        The reproduction report (column ``source``).
    section : str
        A section name: ``'Figure<n>'``, ``'TableS1'`` or ``'text'``.

    Returns
    -------
    pandas.DataFrame
        The matching rows.
    """
    mask = [section in claim_sections(source) for source in report["source"]]
    return report[mask]


def verdict_counts(report: pd.DataFrame) -> dict[str, int]:
    """``{verdict: count}`` over :data:`VERDICTS` (zeros included), in that order.

    Parameters
    ----------
    report : pandas.DataFrame
        Reproduction-report rows (column ``verdict``).

    Returns
    -------
    dict of str to int
        Count of each verdict.
    """
    counts = report["verdict"].value_counts()
    return {verdict: int(counts.get(verdict, 0)) for verdict in VERDICTS}


def overall_verdict(counts: dict[str, int]) -> str:
    """One phrase for a set of verdicts: the worst one present decides.

    Parameters
    ----------
    counts : dict of str to int
        Verdict counts (:func:`verdict_counts`).

    Returns
    -------
    str
        "no published claims", "not reproduced", "incomplete", "reproduced with warnings" or
        "reproduced".
    """
    if sum(counts.values()) == 0:
        return "no published claims"
    if counts.get("fail", 0):
        return "not reproduced"
    if counts.get("missing", 0):
        return "incomplete"
    if counts.get("warn", 0):
        return "reproduced with warnings"
    return "reproduced"
