"""Manuscript numbers (qdanalysis/numbers.py): macro names, rounding, flags, and a real LaTeX run.

The LaTeX test compiles a document that ``\\input``s the generated file with pdflatex (Debian
``texlive-latex-base``; installed with apt-get when missing and running as root, as CI does;
skipped otherwise) and reads the typeset numbers back from the PDF.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from qdanalysis.numbers import assign_macro_names, macro_stem, numbers_from_quantities, numbers_tex, write_numbers
from qdanalysis.report import format_measurement

QUANTITIES = pd.DataFrame([
    ("plqy_percent", "InP_MS_ZnBr2", 86.2345, 0.8123, "%", "de Mello", "ok"),
    ("plqy_percent", "InP_MS_pristine", 73.05, 0.61, "%", "de Mello", "ok"),
    ("pl_peak_nm", "InP_MS_ZnI2", 541.3, 0.052, "nm", "direct",
     "warn: emission reaches the scan edge at 800 nm (truncated)"),
    ("tau1_ns", "InP_MS_ZnBr2", float("nan"), float("nan"), "ns", "fit", "warn: fit did not converge"),
    ("etch_cycle_max", "InP_MS_ZnBr2_T300", 3.0, float("nan"), "", "index", "ok"),
    ("in3d52_mean_eV", "CdSe_ZnS_BPO+OAmBr", 444.6312, 0.0234, "eV", "fit", "ok"),
    ("ln_d0", "arrhenius", -23.456, 1.2, "", "fit", "ok"),
    ("count", "InP_MS", 123456.0, float("nan"), "", "count", "ok"),
    ("count", "InPMS", 5.0, float("nan"), "", "count", "ok"),  # collides with InP_MS
], columns=["quantity", "sample", "value", "uncertainty", "unit", "method", "flag"])


def test_macro_names_are_letters_only_and_follow_the_documented_rules():
    assert macro_stem("InP_MS_ZnBr2") == "InPMSZnBrTwo"
    assert macro_stem("tau1_ns") == "TauOneNs"
    assert macro_stem("InP_MS_ZnBr2_T300") == "InPMSZnBrTwoTThreeZeroZero"
    assert macro_stem("CdSe_ZnS_BPO+OAmBr") == "CdSeZnSBPOPlusOAmBr"
    assert macro_stem("in3d52_mean_eV") == "InThreeDFiveTwoMeanEV"
    assert macro_stem("ZnBr2") != macro_stem("ZnBr20")
    for bad in ("a/b", "___", "x$"):
        with pytest.raises(ValueError):
            macro_stem(bad)


def test_colliding_names_get_unique_deterministic_suffixes():
    keys = [("count", "InP_MS"), ("count", "InPMS"), ("a", "b"), ("a", "bPm"), ("a", "InP.MS")]
    names = assign_macro_names(keys)
    assert len(set(names.values())) == len(names) == 2 * len(keys)
    assert all(re.fullmatch(r"[A-Za-z]+", n) for n in names.values())
    # the first in sorted order keeps the plain name, later ones get 'Alt' appended
    assert names[("count", "InPMS", "")] == "qdCountInPMS"
    assert names[("count", "InP_MS", "")] == "qdCountInPMSAlt"
    assert names[("a", "b", "Pm")] == "qdABPm" and names[("a", "bPm", "")] == "qdABPmAlt"
    assert assign_macro_names(list(reversed(keys))) == names  # input order does not matter


def test_a_number_given_twice_is_refused():
    with pytest.raises(ValueError, match="more than once"):
        numbers_from_quantities(pd.concat([QUANTITIES, QUANTITIES.iloc[:1]]))


def _definitions(tex: str) -> dict[str, str]:
    return dict(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}$", tex, flags=re.M))


def test_tex_and_json_carry_values_rounded_to_the_uncertainty_and_flags(tmp_path):
    numbers = write_numbers(QUANTITIES, tmp_path / "numbers.tex", tmp_path / "numbers.json")
    tex = (tmp_path / "numbers.tex").read_text()
    document = json.loads((tmp_path / "numbers.json").read_text())
    definitions = _definitions(tex)
    assert len(definitions) == 2 * len(QUANTITIES)
    by_key = {(e["quantity"], e["sample"]): e for e in document["numbers"]}
    assert by_key[("plqy_percent", "InP_MS_ZnBr2")]["macro"] == r"\qdPlqyPercentInPMSZnBrTwo"
    assert definitions["qdPlqyPercentInPMSZnBrTwo"] == r"\ensuremath{86.23}"
    assert definitions["qdPlqyPercentInPMSZnBrTwoPm"] == r"\ensuremath{86.23 \pm 0.81}"
    assert definitions["qdLnDZeroArrheniusPm"] == r"\ensuremath{-23.5 \pm 1.2}"
    assert definitions["qdCountInPMSAlt"] == r"\ensuremath{1.235\times10^{5}}"  # no uncertainty: 4 digits
    # every finite value printed is the regenerated one to within half its last digit
    for number in numbers:
        body = definitions[number.macro]
        if not math.isfinite(number.value):
            assert body.startswith(r"\mbox{n/a}")
            continue
        printed = re.search(r"\\ensuremath\{(-?[0-9.]+)(\\times10\^\{(-?[0-9]+)\})?", body)
        value = float(printed.group(1)) * (10 ** int(printed.group(3)) if printed.group(3) else 1)
        decimals = len(printed.group(1).split(".")[1]) if "." in printed.group(1) else 0
        scale = 10 ** int(printed.group(3)) if printed.group(3) else 1
        assert abs(value - number.value) <= 0.5 * 10 ** -decimals * scale + 1e-12, number
    # flags: kept in the JSON, visible in the .tex (comment with the reason and the mark)
    flagged = by_key[("pl_peak_nm", "InP_MS_ZnI2")]
    assert flagged["flagged"] and flagged["flag"].startswith("warn: emission reaches the scan edge")
    assert definitions["qdPlPeakNmInPMSZnITwo"].endswith(r"\qdFlagMark{}")
    assert "% FLAGGED: emission reaches the scan edge at 800 nm (truncated)" in tex
    assert by_key[("tau1_ns", "InP_MS_ZnBr2")]["value"] is None
    assert not by_key[("plqy_percent", "InP_MS_ZnBr2")]["flagged"]
    assert not definitions["qdPlqyPercentInPMSZnBrTwo"].endswith(r"\qdFlagMark{}")


def test_rounding_keeps_two_significant_digits_of_the_uncertainty():
    assert format_measurement(86.2345, 0.8123) == ("86.23", "0.81")
    assert format_measurement(1234.4, 56.2) == ("1234", "56")
    assert format_measurement(12345.0, 2345.0) == ("12300", "2300")
    assert format_measurement(0.5123, 0.0123) == ("0.512", "0.012")
    assert format_measurement(5.0, float("nan")) == ("5", None)


# ---------------------------------------------------------------- a real LaTeX run
@pytest.fixture(scope="module")
def pdflatex() -> str:
    found = shutil.which("pdflatex")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("pdflatex is not installed and this is not root with apt-get: cannot install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "texlive-latex-base"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return shutil.which("pdflatex")


def compile_with_numbers(pdflatex: str, directory, numbers_tex_text: str, body: str) -> tuple[int, str, str]:
    (directory / "numbers.tex").write_text(numbers_tex_text, encoding="utf-8")
    (directory / "paper.tex").write_text(
        "\\documentclass{article}\n\\input{numbers.tex}\n\\begin{document}\n" + body + "\n\\end{document}\n",
        encoding="utf-8")
    done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=directory,
                          capture_output=True, text=True, timeout=300)
    text = ""
    if (directory / "paper.pdf").exists():
        from pypdf import PdfReader

        text = " ".join(page.extract_text() for page in PdfReader(directory / "paper.pdf").pages)
    return done.returncode, done.stdout, text


def test_numbers_tex_compiles_and_typesets_the_values(pdflatex, tmp_path):
    numbers = numbers_from_quantities(QUANTITIES)
    uses = []
    for n in numbers:  # every macro, in text and in maths
        uses.append(f"VAL: \\{n.macro}; PM \\{n.macro_pm}; math ${{\\{n.macro_pm}}}$.\\par")
    code, log, text = compile_with_numbers(pdflatex, tmp_path, numbers_tex(numbers), "\n".join(uses))
    assert code == 0, log[-3000:]
    flat = " ".join(text.split())
    assert "86.23" in flat and "0.81" in flat and "73.05" in flat and "444.631" in flat
    assert "n/a" in flat  # the undetermined lifetime
    assert "Undefined control sequence" not in log


def test_a_clash_with_the_authors_own_macro_stops_latex(pdflatex, tmp_path):
    """\\newcommand, not \\def: a name the author already uses is an error, never a silent overwrite."""
    numbers = numbers_from_quantities(QUANTITIES.iloc[:1])
    clash = "\\newcommand{\\qdPlqyPercentInPMSZnBrTwo}{mine}\n" + numbers_tex(numbers)
    code, log, _ = compile_with_numbers(pdflatex, tmp_path, clash, "x")
    assert code != 0 and "already defined" in log
