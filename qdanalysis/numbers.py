"""Regenerated numbers for the manuscript: ``results/numbers.tex`` (LaTeX macros) and ``numbers.json``.

An author writes ``\\input{numbers.tex}`` and then ``PLQY rose to \\qdPlqyPercentInPMSZnBrTwo\\,\\%``
instead of copying a number by hand; a rerun on new raw data updates the text (what showyourwork's
``\\variable`` offers). Every row of every ``quantities.csv`` gets two macros:

* ``\\qd<Quantity><Sample>``   the value,
* ``\\qd<Quantity><Sample>Pm`` the value with its 1-sigma uncertainty (``86.2 \\pm 0.8``),

both rounded by :func:`qdanalysis.report.format_measurement` (the one rounding rule of the project:
two significant digits of the uncertainty) and wrapped in ``\\ensuremath`` so they work in text and
in maths.

Macro names (:func:`macro_stem`). LaTeX control words are letters only, so names are derived
mechanically from the quantity and sample ids:

1. the id is cut into words at ``_``, ``-``, ``.`` and spaces; ``+`` becomes the word ``Plus``;
2. each digit becomes its English name (``2`` -> ``Two``, ``300`` -> ``ThreeZeroZero``), so
   ``ZnBr2`` and ``ZnBr20`` stay distinct;
3. every word (and every letter run after a digit) gets an upper-case first letter, the rest of
   its case is kept (``InP_MS_ZnBr2`` -> ``InPMSZnBrTwo``, ``tau1_ns`` -> ``TauOneNs``);
4. the macro is ``qd`` + quantity part + sample part (+ ``Pm`` for the uncertainty form). The
   prefix keeps clear of LaTeX's own commands; ``\\newcommand`` would stop the document on a clash
   with the author's.

Distinct ids can give one name (``InP_MS`` and ``InPMS``; ``a`` + sample ``bPm`` against ``a`` +
sample ``b`` with ``Pm``). :func:`assign_macro_names` resolves such collisions deterministically:
names are handed out in sorted (quantity, sample, form) order, the first keeps the name and each
later one gets ``Alt`` appended until it is unique. ``numbers.tex`` lists the quantity and sample
beside every macro and ``numbers.json`` maps them both ways, so a renamed macro is never a guess.

Flagged numbers (``flag`` = ``warn: <reason>``) keep their flag in the JSON and, in the .tex, a
``% FLAGGED`` comment with the reason and a visible mark after the number, ``\\qdFlagMark`` (a
dagger by default; defined with ``\\providecommand`` so an author may define it first). A NaN value
(always flagged) prints as ``n/a``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qdanalysis.report import format_measurement
from qdanalysis.results import OK, flag_reasons

PREFIX = "qd"
PM_SUFFIX = "Pm"
COLLISION_SUFFIX = "Alt"
DIGIT_NAMES = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
_SEPARATORS = re.compile(r"[_\-.\s]+")
_PIECES = re.compile(r"[A-Za-z]+|[0-9]|\+|[^A-Za-z0-9+]")


def macro_stem(identifier: str) -> str:
    """Letters-only CamelCase form of a quantity or sample id (rules 1-3 of the module docstring).

    Parameters
    ----------
    identifier : str
        A quantity or sample id, e.g. ``InP_MS_ZnBr2``.

    Returns
    -------
    str
        The macro-name part, e.g. ``InPMSZnBrTwo``.

    Raises
    ------
    ValueError
        The id has a character other than letters, digits, ``_ - . + `` and spaces, or no letter or
        digit at all.
    """
    words = [w for w in _SEPARATORS.split(str(identifier)) if w]
    parts = []
    for word in words:
        for piece in _PIECES.findall(word):
            if piece.isdigit():
                parts.append(DIGIT_NAMES[int(piece)])
            elif piece == "+":
                parts.append("Plus")
            elif piece.isalpha():
                parts.append(piece[0].upper() + piece[1:])
            else:
                raise ValueError(f"{identifier!r}: character {piece!r} has no macro-name spelling")
    name = "".join(parts)
    if not name:
        raise ValueError(f"{identifier!r}: no letters or digits to build a macro name from")
    return name


@dataclass(frozen=True)
class Number:
    """One regenerated quantity of one sample, as the manuscript macros print it."""

    quantity: str
    sample: str
    value: float
    uncertainty: float
    unit: str
    method: str
    flag: str
    macro: str
    macro_pm: str

    @property
    def flagged(self) -> bool:
        return self.flag != OK

    @property
    def value_text(self) -> str:
        return format_measurement(self.value, self.uncertainty)[0]

    @property
    def pm_text(self) -> str:
        value_text, sigma_text = format_measurement(self.value, self.uncertainty)
        return value_text if sigma_text is None else f"{value_text} ± {sigma_text}"


def assign_macro_names(keys: list[tuple[str, str]]) -> dict[tuple[str, str, str], str]:
    """Unique macro names for ``(quantity, sample)`` keys, both forms (``''`` and ``'Pm'``).

    Collisions get ``Alt`` suffixes in sorted key order (module docstring).

    Parameters
    ----------
    keys : list of (str, str)
        The ``(quantity, sample)`` pairs (duplicates are named once).

    Returns
    -------
    dict of (str, str, str) to str
        ``{(quantity, sample, form): name}`` with ``form`` ``''`` (value) or ``'Pm'`` (value with
        uncertainty); names without the backslash.

    Raises
    ------
    ValueError
        An id that has no macro-name spelling (:func:`macro_stem`).
    """
    used: set[str] = set()
    names = {}
    for quantity, sample in sorted(set(keys)):
        base = PREFIX + macro_stem(quantity) + macro_stem(sample)
        for form in ("", PM_SUFFIX):
            name = base + form
            while name in used:
                name += COLLISION_SUFFIX
            used.add(name)
            names[(quantity, sample, form)] = name
    return names


def numbers_from_quantities(regenerated: pd.DataFrame) -> list[Number]:
    """One :class:`Number` per (quantity, sample) row, sorted by quantity then sample.

    Parameters
    ----------
    regenerated : pandas.DataFrame
        The concatenated ``quantities.csv`` tables: columns ``quantity``, ``sample``, ``value``,
        ``uncertainty``, ``unit``, ``method`` and ``flag``.

    Returns
    -------
    list of Number
        The numbers with their macro names; a missing flag counts as ``ok``.

    Raises
    ------
    ValueError
        The same (quantity, sample) appears twice (two tables claiming one number).
    """
    duplicated = regenerated.duplicated(["quantity", "sample"], keep=False)
    if duplicated.any():
        pairs = sorted(set(zip(regenerated.loc[duplicated, "quantity"], regenerated.loc[duplicated, "sample"],
                               strict=False)))
        raise ValueError(f"quantity/sample given more than once: {pairs[:5]}")
    keys = list(zip(regenerated["quantity"].astype(str), regenerated["sample"].astype(str), strict=False))
    names = assign_macro_names(keys)
    numbers = []
    for row in regenerated.itertuples(index=False):
        quantity, sample = str(row.quantity), str(row.sample)
        flag = row.flag if isinstance(row.flag, str) and row.flag else OK
        numbers.append(Number(
            quantity=quantity, sample=sample, value=float(row.value), uncertainty=float(row.uncertainty),
            unit="" if pd.isna(row.unit) else str(row.unit), method="" if pd.isna(row.method) else str(row.method),
            flag=flag, macro=names[(quantity, sample, "")], macro_pm=names[(quantity, sample, PM_SUFFIX)]))
    return sorted(numbers, key=lambda n: (n.quantity, n.sample))


# ---------------------------------------------------------------- LaTeX
def tex_number(text: str) -> str:
    """A formatted number as TeX maths: ``1.2e+05`` -> ``1.2\\times10^{5}``, ``±`` -> ``\\pm``.

    Parameters
    ----------
    text : str
        A number as :func:`qdanalysis.report.format_measurement` prints it, possibly ``value ± sigma``.

    Returns
    -------
    str
        The TeX maths text (without ``$`` or ``\\ensuremath``).
    """
    def exponent(match: re.Match) -> str:
        return rf"{match.group(1)}\times10^{{{int(match.group(2))}}}"

    text = re.sub(r"([0-9.]+)e([+-][0-9]+)", exponent, text)
    return text.replace(" ± ", r" \pm ")


def _tex_body(number: Number, text: str) -> str:
    body = r"\mbox{n/a}" if not math.isfinite(number.value) else rf"\ensuremath{{{tex_number(text)}}}"
    return body + (r"\qdFlagMark{}" if number.flagged else "")


def _comment(text: str) -> str:
    return " ".join(str(text).split())  # one line: a newline would end the comment


def numbers_tex(numbers: list[Number]) -> str:
    """The text of ``numbers.tex``: a header, ``\\qdFlagMark``, then two ``\\newcommand`` per number.

    Parameters
    ----------
    numbers : list of Number
        The numbers, in the order they are written.

    Returns
    -------
    str
        The file's text, ending in a newline.
    """
    lines = [
        "% Regenerated numbers of Yuan et al., Chem. Sci. 2023, 14, 13119 (written by rule write_numbers;",
        "% do not edit). Use: \\input{numbers.tex}, then e.g. \\qdPlqyPercentInPMSZnBrTwo.",
        "% \\qd<Quantity><Sample> is the value, \\qd<Quantity><Sample>Pm the value \\pm 1 sigma, both rounded",
        "% to two significant digits of the uncertainty. Names: ids cut at _ - . and spaces, digits spelled",
        "% (2 -> Two), + -> Plus, each word capitalised; a name two ids share gets 'Alt' appended to the",
        "% later one (see qdanalysis/numbers.py). A value the analysis flagged carries \\qdFlagMark and a",
        "% FLAGGED comment with the reason; n/a marks a value that could not be determined.",
        r"\providecommand{\qdFlagMark}{\ensuremath{^{\dagger}}}",
        "",
    ]
    for number in numbers:
        unit = f" [{number.unit}]" if number.unit else ""
        lines.append(f"% {_comment(number.quantity)} / {_comment(number.sample)}{unit}")
        if number.flagged:
            lines.append(f"% FLAGGED: {_comment('; '.join(flag_reasons(number.flag)) or number.flag)}")
        lines.append(rf"\newcommand{{\{number.macro}}}{{{_tex_body(number, number.value_text)}}}")
        lines.append(rf"\newcommand{{\{number.macro_pm}}}{{{_tex_body(number, number.pm_text)}}}")
    return "\n".join(lines) + "\n"


def _finite_or_none(value: float):
    return value if math.isfinite(value) else None


def numbers_json(numbers: list[Number]) -> str:
    """The text of ``numbers.json``: the same numbers with full precision, units, flags and macro names.

    Parameters
    ----------
    numbers : list of Number
        The numbers, in the order they are written.

    Returns
    -------
    str
        The JSON document (``description`` and ``numbers``; NaN written as null), ending in a newline.
    """
    entries = [{
        "quantity": n.quantity, "sample": n.sample, "value": _finite_or_none(n.value),
        "uncertainty": _finite_or_none(n.uncertainty), "unit": n.unit, "method": n.method, "flag": n.flag,
        "flagged": n.flagged, "text": n.value_text if math.isfinite(n.value) else None,
        "text_pm": n.pm_text if math.isfinite(n.value) else None, "macro": "\\" + n.macro,
        "macro_pm": "\\" + n.macro_pm,
    } for n in numbers]
    document = {"description": "Regenerated numbers (value, 1-sigma uncertainty) and their LaTeX macros in "
                               "numbers.tex; naming rules in qdanalysis/numbers.py",
                "numbers": entries}
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_numbers(regenerated: pd.DataFrame, tex_path: str | Path, json_path: str | Path) -> list[Number]:
    """Write ``numbers.tex`` and ``numbers.json`` from the concatenated quantities tables.

    Parameters
    ----------
    regenerated : pandas.DataFrame
        The concatenated ``quantities.csv`` tables (see :func:`numbers_from_quantities`).
    tex_path, json_path : str or pathlib.Path
        Output files.

    Returns
    -------
    list of Number
        The numbers written, sorted by quantity then sample.

    Raises
    ------
    ValueError
        A (quantity, sample) given twice, or an id without a macro-name spelling.
    """
    numbers = numbers_from_quantities(regenerated)
    Path(tex_path).write_text(numbers_tex(numbers), encoding="utf-8")
    Path(json_path).write_text(numbers_json(numbers), encoding="utf-8")
    return numbers
