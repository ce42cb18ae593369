"""VAMAS surface-chemical-analysis transfer format (ISO 14976:1998, ``.vms``): read and write.

Format: a plain-text file, one value per line. An experiment header (format identifier
``VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4``, institution,
instrument, operator, experiment identifier, comment lines, experiment mode, scan mode, counts of
experimental variables / inclusion-list entries / manually entered items / future-upgrade entries,
number of blocks) is followed by one block per spectral region and the terminator
``end of experiment``. An XPS block carries, among ~40 parameters, the source label and energy,
the analyser work function, the species and transition labels (``In`` / ``3d``), the abscissa
(REGULAR scans: label, units, start, increment), the corresponding variables (the signal and, in
Kratos and CasaXPS exports, ``Transmission``), the dwell time per channel and scan, the number of
scans, the dead time, and then the ordinate values interleaved per variable. Public sources of the
syntax: W. A. Dench, L. B. Hazell, M. P. Seah, *Surf. Interface Anal.* 13 (1988) 63-122 (adopted as
ISO 14976) and the field-by-field docstrings of the ``vamas`` package (``VamasHeader``/``VamasBlock``).

Variants seen in real exports and accepted here (tests/test_io_vamas.py reads the real files
copied into tests/data/real/, see SOURCES.md there):

* **Kratos ESCApe** (cheminfo/vamas test data ``survey.vms``, ``multiplex.vms``, ``ARXPS.vms``):
  CRLF, four experimental variables (``Index``, ``PositionX [mm]`` ...), ``Kinetic energy``
  abscissa, ``Intensity``/``d`` + ``Transmission``/``d``, work function ``-4.5``, ``1E+37`` for
  every parameter not recorded, a 36-line block comment (``Charge Neutraliser : Off`` ...).
* **CasaXPS re-exports** of Kratos, SpecsLab Prodigy and Scienta data (``single_sample.vms``,
  ``polyethyleneglycol.vms``; pynxtools-xps ``regular.vms``, ``irregular.vms``): ``Casa Info
  Follows`` comment lines, ``1e+037`` placeholders, ``kinetic energy`` / ``Binding energy`` in any
  case, ``counts``/``Counts``/``Intensity`` in ``d``, work function ``4.1082`` (SpecsLab) or
  ``1e+037`` (Scienta), labels without a space (species ``I3d``, empty transition).
* **IRREGULAR scans** (SpecsLab via CasaXPS): no abscissa start/increment; the abscissa is the
  first corresponding variable and every point is written as (abscissa, signal, ...). The same
  reading is used by pynxtools-xps (``parsers/vms/parser.py``: ``no_variables = n - 1`` then
  ``energy = block_data[:: no_variables + 1]``) and by LG4X-V2's ``vamas.py``.
* **PHI MultiPak** and NPL's "known-good" VAMAS files: blank lines before the format identifier
  (xylib issue #2, and LG4X-V2's ``vamas.py`` skips up to ten of them), NUL bytes padding text
  fields at the end of a line (e.g. after the transition label); both are tolerated, a NUL
  anywhere else is refused as binary content.

Energy convention. For a kinetic-energy abscissa ``binding = source energy - kinetic``; the
header's "analyser work function" is recorded but **not** subtracted, because the exported
kinetic energy is already referenced to the Fermi level. This is what CasaXPS and pynxtools-xps
do (pynxtools-xps ``parsers/vms/data_model.py``, ``convert_to_binding_energy_scale``:
``self.x = self.source_energy - self.x``; LG4X-V2 ``vamas.py``: "any kinetic scale is given with
respect to the Fermi level") and what the real files show: Kratos surveys written from KE
286.69 to 1491.69 eV with hv = 1486.69 eV span exactly 1200 to -5 eV binding energy, a SpecsLab
survey from KE 136.61 eV with hv = 1486.61 eV starts at 1350 eV, and on grounded samples
(``Charge Neutraliser : Off``) adventitious C 1s comes out near 285 eV, I 3d5/2 of a lead-iodide
film at 619.5 eV and the He I secondary-electron cut-off at a 4.4 eV work function - with the work
function subtracted all of these would be off by 4.5 eV (Kratos ``-4.5``) or 4.1 eV (SpecsLab).
A binding-energy abscissa is taken as written.

Values. ``1E+37`` (``1e+037``) is the writers' "not given": such a parameter is ``None`` here, never
a number (a dead time of 1e37 s would turn count rates negative). Ordinate units are honoured:
``d`` (or ``counts``) means counts per channel summed over the scans, ``c/s`` an already-divided
count rate whose Poisson uncertainty is taken from ``rate x dwell x scans`` counts; a signal
labelled as a rate but given in ``d`` is refused as ambiguous, any other unit is refused.

Why not the ``vamas`` package (0.2.0) as the reader. It is checked here as an *independent* reader
of the files our writer produces (tests/test_io_vamas.py), but it is not sound enough to be the
analysis reader: parameter exclusion lists are mis-indexed (``include[int(n) + 1]``, the standard's
prefix numbers start at 1) and the "first block" fallback is reset to ``{}`` at the top of every
block, so any file using the inclusion/exclusion mechanism fails with ``KeyError``; the prefix
numbers of manually entered items are never consumed; IRREGULAR scans are parsed as REGULAR after a
``print``; errors surface as bare ``StopIteration``/``ValueError`` without the file, block or line.

This module therefore parses the standard itself (NORM/SDP/MAP modes, REGULAR and IRREGULAR scans,
inclusion and exclusion lists, all optional block parameters) and raises :class:`RawDataError`
naming the file, block and line. It only reads and converts units (kinetic -> binding energy,
counts -> counts per second); peak fitting lives in :mod:`qdanalysis.xps`. Region labels are
matched without regard to spaces or case (``I3d`` = ``I 3d``, :func:`region_key`).

The writer (:func:`format_vamas`) writes the layout of a Kratos ESCApe export (``survey.vms``):
the same header lines, experimental variables, block comment keys, ``1E+37`` placeholders,
``Intensity``/``Transmission`` variables and CRLF line ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import lambertw

from qdanalysis.io._text import read_text_lines
from qdanalysis.io.errors import RawDataError

FORMAT_IDENTIFIER = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"
TERMINATOR = "end of experiment"
N_BLOCK_PARAMETERS = 40  # prefix numbers (1)..(40) of the optional/repeatable block parameters
NOT_GIVEN = 1e37  # what Kratos (1E+37) and CasaXPS (1e+037) write for a parameter not recorded
_SPUTTER_MODES = {"MAPDP", "MAPSVDP", "SDP", "SDPSV"}
_SPUTTER_TECHNIQUES = {"FABMS", "FABMS energy spec", "ISS", "SIMS", "SIMS energy spec", "SNMS",
                       "SNMS energy spec"}
_ELECTRON_TECHNIQUES = {"AES diff", "AES dir", "EDX", "ELS", "UPS", "XPS", "XRF"}
_COUNT_UNITS = {"d", "counts"}  # counts per channel, summed over the scans
_RATE_UNITS = {"c/s"}
_RATE_LABELS = {"c/s", "cps", "count rate", "counts per second", "counts/s"}


def region_key(label: str) -> str:
    """A region label with spaces removed and lower-cased: ``'I3d'``, ``'I 3d'`` -> ``'i3d'``.

    Parameters
    ----------
    label : str
        A region label or block identifier as written.

    Returns
    -------
    str
        The label without whitespace, in lower case.
    """
    return re.sub(r"\s+", "", label).lower()


@dataclass(frozen=True)
class VamasBlock:
    """One spectral region of a VAMAS file, with both energy axes and the count rate.

    ``counts`` are counts per channel summed over scans (for a ``c/s`` block: rate x dwell x
    scans); ``counts_per_second`` divides by dwell time x number of scans, corrects the dead time
    and divides by the transmission function when the block carries one; ``cps_uncertainty`` is
    the Poisson standard deviation of that rate. Both axes run in the stored channel order;
    ``binding_energy_ev = source_energy_ev - kinetic_energy_ev`` (module docstring).
    ``source_energy_ev``, ``work_function_ev`` and ``kinetic_energy_ev`` are ``None`` when the
    file does not give them (1E+37) and they cannot be derived.
    """

    path: str
    index: int  # 1-based position in the file
    block_id: str
    sample_id: str
    technique: str
    species: str
    transition: str
    abscissa_label: str
    source_energy_ev: float | None
    work_function_ev: float | None  # as written; not applied (module docstring)
    kinetic_energy_ev: np.ndarray | None
    binding_energy_ev: np.ndarray
    counts: np.ndarray
    counts_per_second: np.ndarray
    cps_uncertainty: np.ndarray
    dwell_time_s: float
    n_scans: int
    transmission: np.ndarray | None
    ordinate_unit: str = "d"  # 'd' (counts) or 'c/s' as written
    comment: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Species and transition as CasaXPS names a region, e.g. ``'In 3d'`` (``'I3d'`` if the
        file puts both in the species label)."""
        return f"{self.species} {self.transition}".strip()


@dataclass(frozen=True)
class VamasFile:
    """A whole VAMAS experiment: header fields and its blocks in file order."""

    path: str
    institution: str
    instrument: str
    operator: str
    experiment_id: str
    comment: str
    experiment_mode: str
    scan_mode: str
    blocks: tuple[VamasBlock, ...]

    def block(self, label: str) -> VamasBlock:
        """The block whose label or block identifier equals ``label``.

        Labels are compared with :func:`region_key` (spaces and case ignored); a label found in more than
        one block is an error.

        Parameters
        ----------
        label : str
            Region label (e.g. ``'In 3d'``) or block identifier.

        Returns
        -------
        VamasBlock
            The one matching block.

        Raises
        ------
        RawDataError
            If no block, or more than one, matches.
        """
        found = [b for b in self.blocks if region_key(label) in (region_key(b.label), region_key(b.block_id))]
        if not found:
            raise RawDataError(self.path, None, f"no block {label!r}; blocks are {list(self.labels)}")
        if len(found) > 1:
            raise RawDataError(self.path, None, f"{label!r} is in {len(found)} blocks "
                                                f"({', '.join(str(b.index) for b in found)}); expected one")
        return found[0]

    def regions(self, names: Iterable[str]) -> tuple[dict[str, VamasBlock], tuple[VamasBlock, ...]]:
        """Blocks matched to region ``names`` (spaces and case ignored) and the blocks matching none.

        A name matched by two blocks (e.g. an angle-resolved series in one file) raises
        :class:`RawDataError`: picking one would be a silent choice.

        Parameters
        ----------
        names : iterable of str
            Region names as the analysis spells them (e.g. ``'In 3d'``, ``'P 2p'``).

        Returns
        -------
        matched : dict of str to VamasBlock
            ``{name: block}`` for each name that a block's label matches (names without a block are absent).
        unmatched : tuple of VamasBlock
            The blocks whose label matches none of ``names``, in file order.

        Raises
        ------
        RawDataError
            If a second block matches a name already matched (naming that block).
        """
        by_key = {region_key(name): name for name in names}
        matched: dict[str, VamasBlock] = {}
        unmatched = []
        for blk in self.blocks:
            name = by_key.get(region_key(blk.label))
            if name is None:
                unmatched.append(blk)
            elif name in matched:
                raise RawDataError(self.path, f"block {blk.index}",
                                   f"region {name!r} appears again (first in block {matched[name].index}); "
                                   "expected one block per region")
            else:
                matched[name] = blk
        return matched, tuple(unmatched)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(b.label for b in self.blocks)


class _Cursor:
    """Line-by-line reader that knows where it is, so every error names file, block and line."""

    def __init__(self, path: str, lines: list[str]):
        self.path = path
        self.lines = lines
        self.pos = 0
        self.block: str | None = None  # description of the block being read, for messages

    def where(self, lineno: int | None = None) -> str:
        line = f"line {lineno if lineno is not None else self.pos}"
        return f"{self.block}, {line}" if self.block else line

    def fail(self, what: str, lineno: int | None = None):
        raise RawDataError(self.path, self.where(lineno), what)

    def text(self, what: str) -> str:
        if self.pos >= len(self.lines):
            self.fail(f"file ends while reading {what} (truncated file or wrong block count)",
                      len(self.lines))
        self.pos += 1
        return self.lines[self.pos - 1].strip()

    def real(self, what: str, optional: bool = False) -> float | None:
        """A real number; ``1E+37`` means "not given": ``None`` if ``optional``, else an error."""
        token = self.text(what)
        try:
            # Fortran-written files may use a D exponent (1.0D+03).
            value = float(token.replace("D", "E").replace("d", "e"))
        except ValueError:
            self.fail(f"non-numeric {what} {token!r}")
        if not np.isfinite(value):
            self.fail(f"{what} is not finite ({token})")
        if abs(value) >= 0.999 * NOT_GIVEN:
            if optional:
                return None
            self.fail(f"{what} is not given ({token})")
        return value

    def integer(self, what: str) -> int:
        value = self.real(what)
        if value != int(value):
            self.fail(f"{what} must be an integer, found {value}")
        return int(value)

    def count(self, what: str) -> int:
        value = self.integer(what)
        if value < 0:
            self.fail(f"{what} must not be negative, found {value}")
        return value


def read_vamas(path: str | Path, *, min_points: int = 5) -> VamasFile:
    """Read and validate a VAMAS file; raise :class:`RawDataError` naming file, block and line.

    Parameters
    ----------
    path : str or Path
        The ``.vms`` file.
    min_points : int, optional
        Fewest channels a block may have. Default is 5.

    Returns
    -------
    VamasFile
        Header fields and one :class:`VamasBlock` per block, binding energies from
        ``source energy - kinetic energy`` (module docstring).

    Raises
    ------
    RawDataError
        Naming the file and, where known, the block and line.
    """
    path = str(path)
    lines = read_text_lines(path, nul_padding=True)
    cur = _Cursor(path, lines)
    while cur.pos < len(lines) and not lines[cur.pos].strip():  # PHI / NPL files: blank lines first
        cur.pos += 1

    header = _read_experiment_header(cur)
    n_blocks = header["n_blocks"]
    blocks: list[VamasBlock] = []
    first: dict = {}
    for index in range(1, n_blocks + 1):
        include = [True] * N_BLOCK_PARAMETERS if index == 1 else header["later_includes"]
        cur.block = f"block {index} of {n_blocks}"
        raw = _read_block(cur, header, include, first)
        if index == 1:
            first = raw
        blocks.append(_to_block(cur, raw, index, min_points))
    cur.block = None

    rest = [line.strip() for line in lines[cur.pos:] if line.strip()]
    if not rest or rest[0].lower() != TERMINATOR:
        found = repr(rest[0]) if rest else "end of file"
        cur.fail(f"expected {TERMINATOR!r} after the {n_blocks} declared blocks, found {found} "
                 "(block count in the header does not match the data)", cur.pos + 1)
    return VamasFile(path, header["institution"], header["instrument"], header["operator"], header["experiment_id"],
                     header["comment"], header["mode"], header["scan_mode"], tuple(blocks))


def _read_experiment_header(cur: _Cursor) -> dict:
    """The experiment header of ISO 14976, read in the standard's order up to the number of blocks."""
    if cur.text("format identifier") != FORMAT_IDENTIFIER:
        cur.fail(f"not a VAMAS file: first line must be {FORMAT_IDENTIFIER!r}")
    institution = cur.text("institution identifier")
    instrument = cur.text("instrument model identifier")
    operator = cur.text("operator identifier")
    experiment_id = cur.text("experiment identifier")
    comment = "\n".join(cur.text("comment line") for _ in range(cur.count("number of comment lines")))
    mode = cur.text("experiment mode")
    if mode not in {"MAP", "MAPDP", "MAPSV", "MAPSVDP", "NORM", "SDP", "SDPSV", "SEM"}:
        cur.fail(f"unknown experiment mode {mode!r}")
    scan_mode = cur.text("scan mode")
    if scan_mode not in {"REGULAR", "IRREGULAR"}:
        cur.fail(f"scan mode {scan_mode!r} not supported (REGULAR or IRREGULAR energy scans; MAPPING is not)")
    if mode in {"MAP", "MAPDP", "NORM", "SDP"}:
        cur.count("number of spectral regions")
    if mode in {"MAP", "MAPDP"}:
        for what in ("number of analysis positions", "number of x coordinates", "number of y coordinates"):
            cur.count(what)
    n_variables = cur.count("number of experimental variables")
    variables = [(cur.text("variable label"), cur.text("variable units")) for _ in range(n_variables)]

    # Inclusion list: +n entries = only these parameters appear in blocks 2..N; -n = all but these.
    n_inclusion = cur.integer("number of entries in parameter inclusion or exclusion list")
    listed = {cur.integer("prefix number of block parameter") for _ in range(abs(n_inclusion))}
    if any(not 1 <= p <= N_BLOCK_PARAMETERS for p in listed):
        cur.fail(f"block parameter prefix numbers must lie in 1..{N_BLOCK_PARAMETERS}: {sorted(listed)}")
    later_includes = [
        (p in listed) if n_inclusion > 0 else (p not in listed) for p in range(1, N_BLOCK_PARAMETERS + 1)
    ]
    for _ in range(cur.count("number of manually entered items in block")):
        cur.integer("prefix number of manually entered item")
    n_future_experiment = cur.count("number of future upgrade experiment entries")
    n_future_block = cur.count("number of future upgrade block entries")
    for _ in range(n_future_experiment):
        cur.text("future upgrade experiment entry")
    n_blocks = cur.count("number of blocks")
    if n_blocks == 0:
        cur.fail("file declares zero blocks")

    return {"institution": institution, "instrument": instrument, "operator": operator,
            "experiment_id": experiment_id, "comment": comment, "mode": mode, "scan_mode": scan_mode,
            "variables": variables, "n_future_block": n_future_block, "n_blocks": n_blocks,
            "later_includes": later_includes}


def _read_block(cur: _Cursor, header: dict, include: list[bool], first: dict) -> dict:
    """Read one block's parameters in the order of ISO 14976; excluded ones repeat block 1's."""
    # long function: one pass over block parameters 1-39 in the standard's order, one line each
    b: dict = {}
    mode = header["mode"]

    def param(prefix: int, key: str, reader):
        b[key] = reader() if include[prefix - 1] else first[key]

    def reals(*whats: str) -> tuple[float | None, ...]:
        return tuple(cur.real(what, optional=True) for what in whats)

    b["block_id"] = cur.text("block identifier")
    b["sample_id"] = cur.text("sample identifier")
    cur.block = f"{cur.block} ({b['block_id']!r})"
    for prefix, key in enumerate(("year", "month", "day", "hour", "minute", "second"), start=1):
        param(prefix, key, lambda k=key: cur.real(k, optional=True))
    param(7, "gmt_offset_h", lambda: cur.real("hours in advance of GMT", optional=True))
    param(8, "comment", lambda: "\n".join(
        cur.text("block comment line") for _ in range(cur.count("number of lines in block comment"))))
    param(9, "technique", lambda: cur.text("technique"))
    technique = b["technique"]
    if mode in {"MAP", "MAPDP"}:
        param(10, "xy", lambda: reals("x coordinate", "y coordinate"))
    param(11, "variable_values", lambda: tuple(cur.real("experimental variable value", optional=True)
                                               for _ in header["variables"]))
    param(12, "source_label", lambda: cur.text("analysis source label"))
    if mode in _SPUTTER_MODES or technique in _SPUTTER_TECHNIQUES:
        param(13, "sputter_particle", lambda: reals("sputtering atomic number", "atoms in sputtering particle",
                                                    "sputtering charge"))
    param(14, "source_energy_ev", lambda: cur.real("analysis source characteristic energy", optional=True))
    param(15, "source_strength", lambda: cur.real("analysis source strength", optional=True))
    param(16, "source_beam_width_um", lambda: reals("beam width x", "beam width y"))
    if mode in {"MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM"}:
        param(17, "field_of_view_um", lambda: reals("field of view x", "field of view y"))
    if mode in {"MAPSV", "MAPSVDP", "SEM"}:
        param(18, "linescan", lambda: reals(*(["linescan coordinate"] * 6)))
    param(19, "source_angles_deg", lambda: reals("source polar angle", "source azimuth"))
    param(20, "analyser_mode", lambda: cur.text("analyser mode"))
    param(21, "pass_energy_ev", lambda: cur.real("analyser pass energy", optional=True))
    if technique == "AES diff":
        param(22, "differential_width", lambda: cur.real("differential width", optional=True))
    param(23, "magnification", lambda: cur.real("analyser magnification", optional=True))
    param(24, "work_function_ev", lambda: cur.real("analyser work function", optional=True))
    param(25, "target_bias_v", lambda: cur.real("target bias", optional=True))
    param(26, "analysis_width_um", lambda: reals("analysis width x", "analysis width y"))
    param(27, "take_off_deg", lambda: reals("take-off polar angle", "take-off azimuth"))
    param(28, "species", lambda: cur.text("species label"))
    param(29, "transition", lambda: (cur.text("transition label"), cur.real("charge of detected particle",
                                                                            optional=True)))
    if header["scan_mode"] == "REGULAR":
        param(30, "abscissa", lambda: (cur.text("abscissa label"), cur.text("abscissa units"),
                                       cur.real("abscissa start"), cur.real("abscissa increment")))
    # IRREGULAR: no start/increment; the abscissa is the first corresponding variable.
    param(31, "variables", lambda: tuple(
        (cur.text("corresponding variable label"), cur.text("corresponding variable units"))
        for _ in range(cur.count("number of corresponding variables"))))
    param(32, "signal_mode", lambda: cur.text("signal mode"))
    param(33, "dwell_time_s", lambda: cur.real("signal collection time", optional=True))
    param(34, "n_scans", lambda: cur.real("number of scans to compile this block", optional=True))
    param(35, "dead_time_s", lambda: cur.real("signal time correction", optional=True))
    if mode in _SPUTTER_MODES and technique in _ELECTRON_TECHNIQUES:
        param(36, "sputter_source", lambda: reals(*(["sputter source parameter"] * 6))
              + (cur.text("sputtering mode"),))
    param(37, "sample_tilt_deg", lambda: reals("sample normal polar tilt", "tilt azimuth"))
    param(38, "sample_rotation_deg", lambda: cur.real("sample rotation angle", optional=True))
    param(39, "additional", lambda: tuple(
        (cur.text("additional parameter label"), cur.text("additional parameter units"),
         cur.real("additional parameter value", optional=True))
        for _ in range(cur.count("number of additional numerical parameters"))))
    for _ in range(header["n_future_block"]):
        cur.text("future upgrade block entry")

    b.update(_read_ordinates(cur, header, b))
    return b


def _read_ordinates(cur: _Cursor, header: dict, b: dict) -> dict:
    """The block's ordinate values (after their count and ranges) as axis, signal table and variables."""
    out: dict = {}
    variables = b["variables"]
    irregular = header["scan_mode"] == "IRREGULAR"
    if len(variables) < 1 + irregular:
        cur.fail("block has no corresponding variables" + (" besides the abscissa" if irregular else ""))
    n_values = cur.count("number of ordinate values")
    if n_values == 0:
        cur.fail("block has no ordinate values (empty block)")
    if n_values % len(variables):
        cur.fail(f"{n_values} ordinate values is not a multiple of the {len(variables)} "
                 "corresponding variables")
    for _ in variables:
        cur.real("minimum ordinate value", optional=True)
        cur.real("maximum ordinate value", optional=True)
    out["ordinate_first_line"] = cur.pos + 1
    values = np.array([cur.real("ordinate value") for _ in range(n_values)])
    table = values.reshape(-1, len(variables))
    if irregular:
        (label, units), variables = variables[0], variables[1:]
        out["abscissa"] = (label, units, None, None)
        out["axis"], out["ordinates"], out["signal_variables"] = table[:, 0], table[:, 1:], variables
    else:
        label, units, start, step = b["abscissa"]
        out["axis"] = start + step * np.arange(table.shape[0])
        out["ordinates"], out["signal_variables"] = table, variables
    return out


def _to_block(cur: _Cursor, b: dict, index: int, min_points: int) -> VamasBlock:
    """Turn the raw parameters into axes and rates; check what the analysis relies on."""
    label, kind = _checked_abscissa(cur, b, min_points)
    axis, ordinates = b["axis"], b["ordinates"]
    is_rate, unit, names = _signal_is_rate(cur, b["signal_variables"])
    transmission = None
    if "transmission" in names[1:]:
        transmission = ordinates[:, names.index("transmission")]
        if np.any(transmission <= 0):
            cur.fail("transmission function has values <= 0")
    counts, time, dwell, n_scans = _block_counts(cur, b, is_rate)
    source = b["source_energy_ev"]
    if kind == "kinetic energy":
        if source is None:
            cur.fail("kinetic-energy abscissa but the source energy is not given: no binding energies")
        kinetic, binding = axis, source - axis
    else:
        binding = axis
        kinetic = None if source is None else source - axis
    rate, sigma = _rates(counts, time, b["dead_time_s"] or 0.0, transmission)
    species = b["species"].strip()
    transition = b["transition"][0].strip()
    return VamasBlock(
        path=cur.path, index=index, block_id=b["block_id"], sample_id=b["sample_id"],
        technique=b["technique"], species=species, transition=transition, abscissa_label=label,
        source_energy_ev=source, work_function_ev=b["work_function_ev"], kinetic_energy_ev=kinetic,
        binding_energy_ev=binding, counts=counts, counts_per_second=rate, cps_uncertainty=sigma,
        dwell_time_s=dwell, n_scans=n_scans, transmission=transmission, ordinate_unit=unit,
        comment=b["comment"], metadata=_block_metadata(b))


def _checked_abscissa(cur: _Cursor, b: dict, min_points: int) -> tuple[str, str]:
    """The abscissa label and kind (kinetic or binding energy in eV); raises for too few channels, a
    zero increment or an IRREGULAR axis that is not monotonic."""
    label, units, _, step = b["abscissa"]
    kind = label.strip().lower()
    if units.strip() != "eV" or kind not in {"kinetic energy", "binding energy"}:
        cur.fail(f"abscissa {label!r} in {units!r}: expected 'Kinetic Energy' or 'Binding Energy' in eV")
    axis, ordinates = b["axis"], b["ordinates"]
    n_points = ordinates.shape[0]
    if n_points < min_points:
        cur.fail(f"only {n_points} channels (need at least {min_points})")
    if step == 0:
        cur.fail("abscissa increment is zero")
    steps = np.diff(axis)
    if step is None and not (np.all(steps > 0) or np.all(steps < 0)):
        bad = int(np.flatnonzero(np.sign(steps) != np.sign(steps[0]))[0]) if steps[0] else 0
        cur.fail("IRREGULAR abscissa is not strictly monotonic",
                 b["ordinate_first_line"] + (bad + 1) * (ordinates.shape[1] + 1))
    return label, kind


def _signal_is_rate(cur: _Cursor, signal_variables) -> tuple[bool, str, list[str]]:
    """Whether the signal is a count rate (else counts), its unit, and the variables' names."""
    names = [name.strip().lower() for name, _ in signal_variables]
    signal_label, signal_unit = signal_variables[0]
    unit = signal_unit.strip()
    if unit in _RATE_UNITS:
        is_rate = True
    elif unit.lower() in _COUNT_UNITS:
        if names[0] in _RATE_LABELS:
            cur.fail(f"signal {signal_label!r} is labelled a count rate but its unit is {signal_unit!r}: "
                     "counts or counts per second? (re-export with 'c/s' or as counts)")
        is_rate = False
    else:
        cur.fail(f"signal {signal_label!r} in {signal_unit!r}: expected counts ('d') or a count rate ('c/s')")
    return is_rate, unit, names


def _block_counts(cur: _Cursor, b: dict, is_rate: bool) -> tuple[np.ndarray, float, float, int]:
    """Counts per channel, collection time (dwell x scans), dwell time and number of scans."""
    dwell, n_scans = b["dwell_time_s"], b["n_scans"]
    if dwell is None or n_scans is None:
        cur.fail("dwell time and number of scans must be given (not 1E+37): they turn "
                 + ("counts into count rates" if not is_rate else "count rates into Poisson uncertainties"))
    if dwell <= 0 or n_scans <= 0 or n_scans != int(n_scans):
        cur.fail(f"dwell time ({dwell} s) and number of scans ({n_scans}) must be positive, scans an integer")
    n_scans = int(n_scans)
    time = dwell * n_scans
    signal = b["ordinates"][:, 0]
    counts = signal * time if is_rate else signal
    if b["signal_mode"].strip().lower() == "pulse counting" and np.any(counts < 0):
        cur.fail("negative counts in a pulse-counting block", b["ordinate_first_line"])
    return counts, time, dwell, n_scans


def _rates(counts: np.ndarray, time: float, dead_time: float,
           transmission: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Dead-time-corrected count rates and their Poisson uncertainties, divided by the transmission."""
    rate = _dead_time_corrected(counts / time, dead_time)
    # Poisson: var(counts) = counts; the rate scales it (dead-time factor applied alike).
    scale = np.divide(rate, counts / time, out=np.ones_like(rate), where=counts > 0)
    sigma = np.sqrt(np.maximum(counts, 1.0)) / time * scale
    if transmission is not None:
        rate = rate / transmission
        sigma = sigma / transmission
    return rate, sigma


def _block_metadata(b: dict) -> dict:
    return {
        "date": tuple(None if b[k] is None else int(b[k]) for k in ("year", "month", "day", "hour", "minute",
                                                                    "second")),
        "source_label": b["source_label"], "source_strength": b["source_strength"],
        "analyser_mode": b["analyser_mode"], "pass_energy_ev": b["pass_energy_ev"],
        "signal_mode": b["signal_mode"], "dead_time_s": b["dead_time_s"],
        "take_off_deg": b["take_off_deg"], "variables": b["variables"],
        "additional": b["additional"],
    }


def _dead_time_corrected(rate: np.ndarray, dead_time_s: float) -> np.ndarray:
    """ISO 14976 signal time correction: tau > 0 non-paralysable n = m/(1 - m tau); tau < 0
    paralysable m = n exp(-n |tau|), solved with the Lambert W function."""
    if dead_time_s > 0:
        return rate / (1.0 - rate * dead_time_s)
    if dead_time_s < 0:
        tau = -dead_time_s
        return np.real(-lambertw(-rate * tau) / tau)
    return rate


# ---------------------------------------------------------------------------------------------
# Writer (used by the simulator): the layout of a Kratos ESCApe export, NORM / REGULAR scans.

@dataclass(frozen=True)
class VamasRegion:
    """What the writer needs for one block: a kinetic-energy scan of integer counts.

    ``kinetic_start_ev`` is on the exported (Fermi-referenced) scale, ``binding = source energy -
    kinetic`` (module docstring); ``work_function_ev`` is only recorded, as Kratos does.
    """

    block_id: str
    sample_id: str
    species: str
    transition: str
    kinetic_start_ev: float
    kinetic_step_ev: float
    counts: np.ndarray  # counts per channel summed over scans (pulse counting)
    dwell_time_s: float = 0.1
    n_scans: int = 10
    source_energy_ev: float = 1486.6  # Al K-alpha
    work_function_ev: float = 4.5
    pass_energy_ev: float = 20.0
    transmission: np.ndarray | None = None
    comment: str = ""
    date: tuple[int, int, int, int, int, int] = (2023, 1, 1, 12, 0, 0)
    source_label: str = "Al (mono)"


# Kratos writes these for the parameters ESCApe does not record.
_UNSET = "1E+37"
# ESCApe's experimental variables: acquisition index and stage position.
_KRATOS_VARIABLES = [("Index", "d"), ("PositionX [mm]", "n"), ("PositionY [mm]", "n"), ("PositionZ [mm]", "n")]


def format_vamas(regions: list[VamasRegion], *, experiment_id: str, institution: str = "Not specified",
                 instrument: str = "Kratos Axis", operator: str = "simulator", comment: str = "") -> str:
    """ISO 14976 text in the layout of a Kratos ESCApe export (cheminfo/vamas ``survey.vms``).

    Header: identifier, institution, instrument, operator, experiment, comment lines, ``NORM``,
    ``REGULAR``, the number of regions, ESCApe's four experimental variables, an empty inclusion
    list; per block: ESCApe's block comment (creation, location, settings, scan, work function,
    X-ray power), ``XPS``, the variable values, source, ``FAT`` analyser, ``Kinetic energy``
    abscissa, ``Intensity``/``d`` (+ ``Transmission``/``d``), ``pulse counting`` and ``1E+37`` for
    what is not recorded; CRLF line ends. Reals use fixed formats so the bytes depend only on the
    values.

    Parameters
    ----------
    regions : list of VamasRegion
        One block each, in file order.
    experiment_id : str
        The experiment identifier line (ESCApe writes the ``.experiment`` file name).
    institution, instrument, operator : str, optional
        Header lines. Defaults are ``'Not specified'``, ``'Kratos Axis'``, ``'simulator'``.
    comment : str, optional
        Experiment comment lines (ESCApe writes none; CasaXPS adds its own). Default is none.

    Returns
    -------
    str
        The file's text with CRLF line ends.
    """
    if not regions:
        raise ValueError("a VAMAS file needs at least one block")
    comment_lines = comment.splitlines()
    out = [FORMAT_IDENTIFIER, institution, instrument, operator, experiment_id,
           str(len(comment_lines)), *comment_lines,
           "NORM", "REGULAR", str(len(regions)), str(len(_KRATOS_VARIABLES))]
    for name, unit in _KRATOS_VARIABLES:
        out += [name, unit]
    out += ["0",  # inclusion/exclusion list entries: every parameter in every block
            "0",  # manually entered items
            "0", "0",  # future upgrade experiment / block entries
            str(len(regions))]
    for index, region in enumerate(regions, start=1):
        out += _format_block(index, region, operator)
    out.append(TERMINATOR)
    return "\r\n".join(out) + "\r\n"


def _format_block(index: int, region: VamasRegion, operator: str) -> list[str]:
    counts = np.asarray(region.counts, dtype=float)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"{region.block_id}: counts must be a non-empty 1-D array")
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"{region.block_id}: pulse-counting ordinates must be integers >= 0")
    columns = [counts]
    variables = [("Intensity", "d")]
    if region.transmission is not None:
        columns.append(np.asarray(region.transmission, dtype=float))
        variables.append(("Transmission", "d"))
    out = [region.block_id, region.sample_id, *(str(v) for v in region.date), "0"]
    block_comment = _kratos_block_comment(region, counts.size, operator) + region.comment.splitlines()
    out += [str(len(block_comment)), *block_comment]
    out += ["XPS", str(index), "0", "0", "0",  # experimental variables: index, stage x, y, z (mm)
            region.source_label, _real(region.source_energy_ev), "225",  # source strength (W)
            _UNSET, _UNSET,  # source beam width x, y
            _UNSET, _UNSET,  # source polar incidence angle, azimuth
            "FAT", _real(region.pass_energy_ev), _UNSET, _real(region.work_function_ev), _UNSET,
            _UNSET, _UNSET,  # analysis width x, y
            _UNSET, _UNSET,  # take-off polar angle, azimuth
            region.species, region.transition, "-1",
            "Kinetic energy", "eV", _real(region.kinetic_start_ev), _real(region.kinetic_step_ev),
            str(len(variables))]
    for name, unit in variables:
        out += [name, unit]
    out += ["pulse counting", _real(region.dwell_time_s), str(region.n_scans), "0",
            _UNSET, _UNSET, _UNSET,  # sample tilt, tilt azimuth, rotation
            "0",  # additional numerical parameters
            str(counts.size * len(variables))]
    for column in columns:
        out += [_real(column.min(), integer=column is counts), _real(column.max(), integer=column is counts)]
    for row in np.column_stack(columns):
        out += [_real(row[0], integer=True), *(_real(v) for v in row[1:])]
    return out


def _kratos_block_comment(region: VamasRegion, n_points: int, operator: str) -> list[str]:
    """ESCApe's block comment (keys and order as in its exports), filled from the region."""
    year, month, day, hour, minute, _ = region.date
    start = region.kinetic_start_ev
    end = start + region.kinetic_step_ev * (n_points - 1)
    low, high = min(start, end), max(start, end)
    sweep_s = round(region.dwell_time_s * n_points)
    return [
        "Creation", f"Created by : {operator}",
        f"Date created : {day:02d}/{month:02d}/{year:04d} {hour:02d}:{minute:02d}",
        "Computer : XPS", "Location", f"Location ID : {region.sample_id}", f"Sample : {region.sample_id}",
        "Description : (0.000,0.000,0.000)mm", "Tilt : 0.00", "Charge Neutraliser : Off",
        "Settings", "Excitation", "Mode : XPS - monochromatic", "Tuning : Spectroscopy",
        "Emission current : 15.00mA", f"Anode library : {region.source_label.split()[0]}",
        "ESCA modes", "Collimation : Slot", "Lens : Hybrid", f"Resolution : {region.pass_energy_ev:.2f}",
        "Scan", "Deflection : (0.000, 0.000)mm",
        f"{region.block_id} : {low:.3f}-{high:.3f}eV, Sweeps {region.n_scans}",
        f"Start : {low:.3f}eV", f"End : {high:.3f}eV", f"Centre : {(low + high) / 2:.3f}eV",
        f"Width : {high - low:.3f}eV", f"Step size : {abs(region.kinetic_step_ev):.3f}eV",
        f"Number Steps : {n_points - 1}", f"Dwell time : {region.dwell_time_s * 1000:g}ms",
        f"Sweep time : {sweep_s}s", f"Sweeps : {region.n_scans}",
        "Instrument Conditions", f"Work function : {region.work_function_ev:.2f}",
        "Acquisition Conditions", "X-ray Power : 225.00W",
    ]


def _real(value: float, integer: bool = False) -> str:
    """Fixed formatting: integers for pulse counts, 10 significant digits otherwise."""
    return str(int(round(value))) if integer else f"{value:.10g}"


def write_vamas(path: str | Path, regions: list[VamasRegion], **kwargs) -> None:
    """Write :func:`format_vamas` output (ASCII/UTF-8, CRLF as the text has them).

    Parent directories are created as needed.

    Parameters
    ----------
    path : str or Path
        The ``.vms`` file to write (overwritten).
    regions : list of VamasRegion
        One block per region, in file order.
    **kwargs
        Passed on to :func:`format_vamas` (``experiment_id``, required, and the header fields).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(format_vamas(regions, **kwargs).encode("utf-8"))
