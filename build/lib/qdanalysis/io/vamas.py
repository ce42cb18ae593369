"""VAMAS surface-chemical-analysis transfer format (ISO 14976:1998, ``.vms``): read and write.

Format: a plain-text file, one value per line. An experiment header (format identifier
``VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4``, institution,
instrument, operator, experiment identifier, comment lines, experiment mode, scan mode, counts of
experimental variables / inclusion-list entries / manually entered items / future-upgrade entries,
number of blocks) is followed by one block per spectral region and the terminator
``end of experiment``. A REGULAR-scan XPS block carries, among ~40 parameters, the source energy,
the analyser work function, the species and transition labels (``In`` / ``3d``), the abscissa
label (``Kinetic Energy`` or ``Binding Energy``), start and increment, the corresponding variables
(``counts`` and, in CasaXPS exports, ``Transmission``), the dwell time per channel and scan, the
number of scans, the dead time, and then the ordinate values interleaved per variable.
Written by CasaXPS, Kratos ESCApe / Vision, Thermo Avantage, PHI MultiPak and SpecsLab exports.
Public sources of the syntax used here: W. A. Dench, L. B. Hazell, M. P. Seah, *Surf. Interface
Anal.* 13 (1988) 63-122 (the VAMAS format definition adopted as ISO 14976), the field-by-field
documentation of the ``vamas`` package (github.com/Schlabonski/vamas, docstrings of
``VamasHeader``/``VamasBlock``), and CasaXPS's "VAMAS file format" notes.

Why not the ``vamas`` package (0.2.0) as the reader. It is checked here as an *independent* reader
of the files our writer produces (tests/test_io_vamas.py), but it is not sound enough to be the
analysis reader:

* parameter exclusion lists are mis-indexed (``include[int(n) + 1]``, the standard's prefix numbers
  start at 1, so it must be ``n - 1``) and the "first block" fallback is reset to ``{}`` at the top
  of every block, so any file using the inclusion/exclusion mechanism fails with ``KeyError`` (and
  blocks would share one ``y_values`` list via a shallow ``copy()``);
* the prefix numbers of manually entered items are never consumed, and future-upgrade entries are
  read in the wrong place, so such files are silently misaligned;
* IRREGULAR scans are parsed as REGULAR after a ``print``; ``MAPDP`` is spelled ``MAPD``; XPS is
  missing from the sputter-source condition of depth profiles;
* errors surface as bare ``StopIteration``/``ValueError`` without the file, block or line, and a
  block count that disagrees with the data goes unnoticed.

This module therefore parses the standard itself (NORM/SDP/MAP modes, REGULAR scans, inclusion and
exclusion lists, all optional block parameters) and raises :class:`RawDataError` naming the file,
block and line. It only reads and converts units (kinetic <-> binding energy, counts -> counts per
second); peak fitting lives in :mod:`qdanalysis.xps`.

Energy conventions: for a kinetic-energy abscissa, ``binding = source energy - kinetic - analyser
work function`` (the work function is the block's "analyser work function or acceptance energy",
as CasaXPS applies it); a binding-energy abscissa is converted back the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import lambertw

from qdanalysis.io._text import read_text_lines
from qdanalysis.io.errors import RawDataError

FORMAT_IDENTIFIER = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"
TERMINATOR = "end of experiment"
N_BLOCK_PARAMETERS = 40  # prefix numbers (1)..(40) of the optional/repeatable block parameters
_SPUTTER_MODES = {"MAPDP", "MAPSVDP", "SDP", "SDPSV"}
_SPUTTER_TECHNIQUES = {"FABMS", "FABMS energy spec", "ISS", "SIMS", "SIMS energy spec", "SNMS",
                       "SNMS energy spec"}
_ELECTRON_TECHNIQUES = {"AES diff", "AES dir", "EDX", "ELS", "UPS", "XPS", "XRF"}


@dataclass(frozen=True)
class VamasBlock:
    """One spectral region of a VAMAS file, with both energy axes and the count rate.

    ``counts`` are the stored ordinates (counts per channel summed over scans); ``counts_per_second``
    divides by dwell time x number of scans, corrects the dead time and divides by the transmission
    function when the block carries one; ``cps_uncertainty`` is the Poisson standard deviation of
    that rate. Both axes run in the stored channel order.
    """

    path: str
    index: int  # 1-based position in the file
    block_id: str
    sample_id: str
    technique: str
    species: str
    transition: str
    abscissa_label: str
    source_energy_ev: float
    work_function_ev: float
    kinetic_energy_ev: np.ndarray
    binding_energy_ev: np.ndarray
    counts: np.ndarray
    counts_per_second: np.ndarray
    cps_uncertainty: np.ndarray
    dwell_time_s: float
    n_scans: int
    transmission: np.ndarray | None
    comment: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Species and transition as CasaXPS names a region, e.g. ``'In 3d'``."""
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
        """The block whose ``'<species> <transition>'`` (or block identifier) equals ``label``."""
        for blk in self.blocks:
            if blk.label == label or blk.block_id == label:
                return blk
        raise RawDataError(self.path, None, f"no block {label!r}; blocks are "
                                            f"{[b.label for b in self.blocks]}")

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

    def real(self, what: str) -> float:
        token = self.text(what)
        try:
            # Fortran-written files may use a D exponent (1.0D+03).
            value = float(token.replace("D", "E").replace("d", "e"))
        except ValueError:
            self.fail(f"non-numeric {what} {token!r}")
        if not np.isfinite(value):
            self.fail(f"{what} is not finite ({token})")
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
    """Read and validate a VAMAS file; raise :class:`RawDataError` naming file, block and line."""
    path = str(path)
    lines = read_text_lines(path)
    cur = _Cursor(path, lines)

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
    if scan_mode != "REGULAR":
        cur.fail(f"scan mode {scan_mode!r} not supported (only REGULAR energy scans)")
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

    header = {"mode": mode, "variables": variables, "n_future_block": n_future_block}
    blocks: list[VamasBlock] = []
    first: dict = {}
    for index in range(1, n_blocks + 1):
        include = [True] * N_BLOCK_PARAMETERS if index == 1 else later_includes
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
    return VamasFile(path, institution, instrument, operator, experiment_id, comment, mode, scan_mode,
                     tuple(blocks))


def _read_block(cur: _Cursor, header: dict, include: list[bool], first: dict) -> dict:
    """Read one block's parameters in the order of ISO 14976; excluded ones repeat block 1's."""
    b: dict = {}
    mode = header["mode"]

    def param(prefix: int, key: str, reader):
        b[key] = reader() if include[prefix - 1] else first[key]

    b["block_id"] = cur.text("block identifier")
    b["sample_id"] = cur.text("sample identifier")
    cur.block = f"{cur.block} ({b['block_id']!r})"
    for prefix, key in enumerate(("year", "month", "day", "hour", "minute", "second"), start=1):
        param(prefix, key, lambda k=key: cur.integer(k))
    param(7, "gmt_offset_h", lambda: cur.real("hours in advance of GMT"))
    param(8, "comment", lambda: "\n".join(
        cur.text("block comment line") for _ in range(cur.count("number of lines in block comment"))))
    param(9, "technique", lambda: cur.text("technique"))
    technique = b["technique"]
    if mode in {"MAP", "MAPDP"}:
        param(10, "xy", lambda: (cur.integer("x coordinate"), cur.integer("y coordinate")))
    param(11, "variable_values", lambda: tuple(cur.real("experimental variable value")
                                               for _ in header["variables"]))
    param(12, "source_label", lambda: cur.text("analysis source label"))
    if mode in _SPUTTER_MODES or technique in _SPUTTER_TECHNIQUES:
        param(13, "sputter_particle", lambda: (cur.integer("sputtering atomic number"),
                                               cur.real("atoms in sputtering particle"),
                                               cur.real("sputtering charge")))
    param(14, "source_energy_ev", lambda: cur.real("analysis source characteristic energy"))
    param(15, "source_strength", lambda: cur.real("analysis source strength"))
    param(16, "source_beam_width_um", lambda: (cur.real("beam width x"), cur.real("beam width y")))
    if mode in {"MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM"}:
        param(17, "field_of_view_um", lambda: (cur.real("field of view x"), cur.real("field of view y")))
    if mode in {"MAPSV", "MAPSVDP", "SEM"}:
        param(18, "linescan", lambda: tuple(cur.integer("linescan coordinate") for _ in range(6)))
    param(19, "source_angles_deg", lambda: (cur.real("source polar angle"), cur.real("source azimuth")))
    param(20, "analyser_mode", lambda: cur.text("analyser mode"))
    param(21, "pass_energy_ev", lambda: cur.real("analyser pass energy"))
    if technique == "AES diff":
        param(22, "differential_width", lambda: cur.real("differential width"))
    param(23, "magnification", lambda: cur.real("analyser magnification"))
    param(24, "work_function_ev", lambda: cur.real("analyser work function"))
    param(25, "target_bias_v", lambda: cur.real("target bias"))
    param(26, "analysis_width_um", lambda: (cur.real("analysis width x"), cur.real("analysis width y")))
    param(27, "take_off_deg", lambda: (cur.real("take-off polar angle"), cur.real("take-off azimuth")))
    param(28, "species", lambda: cur.text("species label"))
    param(29, "transition", lambda: (cur.text("transition label"), cur.integer("charge of detected particle")))
    # REGULAR scan mode (enforced in the header): abscissa label, units, start, increment.
    param(30, "abscissa", lambda: (cur.text("abscissa label"), cur.text("abscissa units"),
                                   cur.real("abscissa start"), cur.real("abscissa increment")))
    param(31, "variables", lambda: tuple(
        (cur.text("corresponding variable label"), cur.text("corresponding variable units"))
        for _ in range(cur.count("number of corresponding variables"))))
    param(32, "signal_mode", lambda: cur.text("signal mode"))
    param(33, "dwell_time_s", lambda: cur.real("signal collection time"))
    param(34, "n_scans", lambda: cur.integer("number of scans to compile this block"))
    param(35, "dead_time_s", lambda: cur.real("signal time correction"))
    if mode in _SPUTTER_MODES and technique in _ELECTRON_TECHNIQUES:
        param(36, "sputter_source", lambda: tuple(cur.real("sputter source parameter") for _ in range(6))
              + (cur.text("sputtering mode"),))
    param(37, "sample_tilt_deg", lambda: (cur.real("sample normal polar tilt"), cur.real("tilt azimuth")))
    param(38, "sample_rotation_deg", lambda: cur.real("sample rotation angle"))
    param(39, "additional", lambda: tuple(
        (cur.text("additional parameter label"), cur.text("additional parameter units"),
         cur.real("additional parameter value"))
        for _ in range(cur.count("number of additional numerical parameters"))))
    for _ in range(header["n_future_block"]):
        cur.text("future upgrade block entry")

    variables = b["variables"]
    if not variables:
        cur.fail("block has no corresponding variables")
    n_values = cur.count("number of ordinate values")
    if n_values == 0:
        cur.fail("block has no ordinate values (empty block)")
    if n_values % len(variables):
        cur.fail(f"{n_values} ordinate values is not a multiple of the {len(variables)} "
                 "corresponding variables")
    for _ in variables:
        cur.real("minimum ordinate value")
        cur.real("maximum ordinate value")
    start_line = cur.pos + 1
    values = np.array([cur.real("ordinate value") for _ in range(n_values)])
    b["ordinates"] = values.reshape(-1, len(variables))
    b["ordinate_first_line"] = start_line
    return b


def _to_block(cur: _Cursor, b: dict, index: int, min_points: int) -> VamasBlock:
    """Turn the raw parameters into axes and rates; check what the analysis relies on."""
    label, units, start, step = b["abscissa"]
    kind = label.strip().lower()
    if units.strip() != "eV" or kind not in {"kinetic energy", "binding energy"}:
        cur.fail(f"abscissa {label!r} in {units!r}: expected 'Kinetic Energy' or 'Binding Energy' in eV")
    if step == 0:
        cur.fail("abscissa increment is zero")
    ordinates = b["ordinates"]
    n_points = ordinates.shape[0]
    if n_points < min_points:
        cur.fail(f"only {n_points} channels (need at least {min_points})")
    names = [name.strip().lower() for name, _ in b["variables"]]
    counts = ordinates[:, 0]
    transmission = None
    if "transmission" in names[1:]:
        transmission = ordinates[:, names.index("transmission")]
        if np.any(transmission <= 0):
            cur.fail("transmission function has values <= 0")
    dwell, n_scans = b["dwell_time_s"], b["n_scans"]
    if dwell <= 0 or n_scans <= 0:
        cur.fail(f"dwell time ({dwell} s) and number of scans ({n_scans}) must be positive")
    if b["signal_mode"].strip().lower() == "pulse counting" and np.any(counts < 0):
        cur.fail("negative counts in a pulse-counting block", b["ordinate_first_line"])

    source, work_function = b["source_energy_ev"], b["work_function_ev"]
    axis = start + step * np.arange(n_points)
    if kind == "kinetic energy":
        kinetic = axis
        binding = source - kinetic - work_function
    else:
        binding = axis
        kinetic = source - binding - work_function

    time = dwell * n_scans
    rate = _dead_time_corrected(counts / time, b["dead_time_s"])
    # Poisson: var(counts) = counts; the rate scales it (dead-time factor applied alike).
    scale = np.divide(rate, counts / time, out=np.ones_like(rate), where=counts > 0)
    sigma = np.sqrt(np.maximum(counts, 1.0)) / time * scale
    if transmission is not None:
        rate = rate / transmission
        sigma = sigma / transmission
    species = b["species"].strip()
    transition = b["transition"][0].strip()
    metadata = {
        "date": tuple(b[k] for k in ("year", "month", "day", "hour", "minute", "second")),
        "source_label": b["source_label"], "source_strength": b["source_strength"],
        "analyser_mode": b["analyser_mode"], "pass_energy_ev": b["pass_energy_ev"],
        "signal_mode": b["signal_mode"], "dead_time_s": b["dead_time_s"],
        "take_off_deg": b["take_off_deg"], "variables": b["variables"],
        "additional": b["additional"],
    }
    return VamasBlock(
        path=cur.path, index=index, block_id=b["block_id"], sample_id=b["sample_id"],
        technique=b["technique"], species=species, transition=transition, abscissa_label=label,
        source_energy_ev=source, work_function_ev=work_function, kinetic_energy_ev=kinetic,
        binding_energy_ev=binding, counts=counts, counts_per_second=rate, cps_uncertainty=sigma,
        dwell_time_s=dwell, n_scans=n_scans, transmission=transmission, comment=b["comment"],
        metadata=metadata)


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
# Writer (used by the simulator): NORM experiment, REGULAR scans, one block per region.

@dataclass(frozen=True)
class VamasRegion:
    """What the writer needs for one block: a kinetic-energy scan of integer counts."""

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


def format_vamas(regions: list[VamasRegion], *, experiment_id: str, institution: str = "qdanalysis",
                 instrument: str = "simulated XPS (Al K-alpha, hemispherical analyser)",
                 operator: str = "simulator", comment: str = "") -> str:
    """ISO 14976 text for a NORM / REGULAR experiment, every block parameter written in full.

    Reals are written with fixed formats so the bytes depend only on the values.
    """
    if not regions:
        raise ValueError("a VAMAS file needs at least one block")
    comment_lines = comment.splitlines()
    out = [FORMAT_IDENTIFIER, institution, instrument, operator, experiment_id,
           str(len(comment_lines)), *comment_lines,
           "NORM", "REGULAR", str(len(regions)),
           "0",  # experimental variables
           "0",  # inclusion/exclusion list entries: every parameter in every block
           "0",  # manually entered items
           "0", "0",  # future upgrade experiment / block entries
           str(len(regions))]
    for region in regions:
        counts = np.asarray(region.counts, dtype=float)
        if counts.ndim != 1 or counts.size == 0:
            raise ValueError(f"{region.block_id}: counts must be a non-empty 1-D array")
        if np.any(counts < 0) or np.any(counts != np.round(counts)):
            raise ValueError(f"{region.block_id}: pulse-counting ordinates must be integers >= 0")
        columns = [counts]
        variables = [("counts", "d")]
        if region.transmission is not None:
            columns.append(np.asarray(region.transmission, dtype=float))
            variables.append(("Transmission", "d"))
        comment_lines = region.comment.splitlines()
        out += [region.block_id, region.sample_id, *(str(v) for v in region.date), "0",
                str(len(comment_lines)), *comment_lines,
                "XPS", "Al", _real(region.source_energy_ev), "300", "400", "400",
                "54.7", "0",  # source polar incidence angle, azimuth (degrees)
                "FAT", _real(region.pass_energy_ev), "1", _real(region.work_function_ev), "0",
                "700", "300",  # analysis width x, y (micrometres)
                "0", "0",  # take-off polar angle, azimuth
                region.species, region.transition, "-1",
                "Kinetic Energy", "eV", _real(region.kinetic_start_ev), _real(region.kinetic_step_ev),
                str(len(variables))]
        for name, unit in variables:
            out += [name, unit]
        out += ["pulse counting", _real(region.dwell_time_s), str(region.n_scans), "0",
                "0", "0", "0",  # sample tilt, tilt azimuth, rotation
                "0",  # additional numerical parameters
                str(counts.size * len(variables))]
        for column in columns:
            out += [_real(column.min()), _real(column.max())]
        for row in np.column_stack(columns):
            out += [_real(row[0], integer=True), *(_real(v) for v in row[1:])]
    out.append(TERMINATOR)
    return "\n".join(out) + "\n"


def _real(value: float, integer: bool = False) -> str:
    """Fixed formatting: integers for pulse counts, 10 significant digits otherwise."""
    return str(int(round(value))) if integer else f"{value:.10g}"


def write_vamas(path: str | Path, regions: list[VamasRegion], **kwargs) -> None:
    """Write :func:`format_vamas` output with LF line endings."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(format_vamas(regions, **kwargs), encoding="ascii", newline="\n")
