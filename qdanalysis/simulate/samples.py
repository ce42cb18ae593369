"""The single source of sample identity for the synthetic raw tree.

Every QD sample any simulator writes a file for is listed once in :data:`SAMPLES` with its sample-sheet
metadata (series, material, treatment, temperature, time, etch cycle); the technique modules keep only
their technique truths, keyed by the same sample ids, and build their ``raw/samples.csv`` rows with
:func:`sheet_row`. Families of derived samples (the ZnBr2 temperature and time series, the etch
series) are named by the functions below, so a simulator and the catalogue cannot spell an id
differently.

Reference measurements that are not samples (TRPL IRFs ``IRF_<series>``, XRD Si standards
``SRM640_<series>``, ion-chromatography blanks and Br- standards) are not catalogued: their rows pass
``series`` and ``material`` to :func:`sheet_row` explicitly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from qdanalysis.simulate.etch_geometry import N_CYCLES

MULTISHELL = "InP/ZnSe/ZnSeS/ZnS"
TREATMENT_MIN = 60  # every halide treatment lasts one hour unless it is part of the time series
TEMPERATURES_C = (80, 160, 200, 240, 300)  # ZnBr2 temperature series (Fig 3b) and its etch profiles (Fig 2f)
TIME_SERIES_TEMPERATURES_C = (160, 240, 300)  # FWHM vs treatment time (Fig 3d)
TIMES_MIN = (0, 10, 20, 30, 40, 50, 60)
ETCH_SERIES_CYCLES = tuple(range(N_CYCLES))  # imaged after k = 0..5 cycles; the sixth dissolves the cores
METADATA_FIELDS = ("series", "material", "treatment", "temperature_C", "time_min", "etch_cycle")


@dataclass(frozen=True)
class Sample:
    """Sample-sheet metadata of one sample (None: not applicable, an empty cell in samples.csv)."""

    series: str
    material: str
    treatment: str = "none"
    temperature_C: int | None = None
    time_min: int | None = None
    etch_cycle: int | None = None


def temperature_sample(temperature_C: int) -> str:
    """ZnBr2-treated multishell QDs of the temperature series (60 min at ``temperature_C``).

    Parameters
    ----------
    temperature_C : int
        Treatment temperature, degrees Celsius.

    Returns
    -------
    str
        Sample id ``InP_MS_ZnBr2_T<temperature>``.
    """
    return f"InP_MS_ZnBr2_T{temperature_C}"


def time_series_sample(temperature_C: int, time_min: int) -> str:
    """ZnBr2-treated multishell QDs taken out after ``time_min`` minutes at ``temperature_C``.

    Parameters
    ----------
    temperature_C : int
        Treatment temperature, degrees Celsius.
    time_min : int
        Treatment time, minutes.

    Returns
    -------
    str
        Sample id ``InP_MS_ZnBr2_T<temperature>_t<mm>``.
    """
    return f"InP_MS_ZnBr2_T{temperature_C}_t{time_min:02d}"


def etched_sample(cycle: int, temperature_C: int | None = None) -> str:
    """Supernatant/particles after an etch cycle, of the temperature series or the TEM etch series.

    Supernatant/particles after etch ``cycle``: of the temperature-series sample treated at
    ``temperature_C`` (ion chromatography), or, without a temperature, of the TEM etch series.

    Parameters
    ----------
    cycle : int
        Etch cycle number.
    temperature_C : int, optional
        Treatment temperature, degrees Celsius. Default (None): the TEM etch series.

    Returns
    -------
    str
        Sample id ``InP_MS_ZnBr2_T<temperature>_etch<cycle>`` or ``InP_MS_ZnBr2_etch<cycle>``.
    """
    if temperature_C is None:
        return f"InP_MS_ZnBr2_etch{cycle}"
    return f"InP_MS_ZnBr2_T{temperature_C}_etch{cycle}"


def _treated(series: str, treatment: str, material: str = MULTISHELL, temperature_C: int = 300) -> Sample:
    return Sample(series, material, treatment, temperature_C, TREATMENT_MIN)


SAMPLES: dict[str, Sample] = {
    # shell growth (Fig S1)
    "InP_core": Sample("shell_growth", "InP"),
    "InP_ZnSe_thin": Sample("shell_growth", "InP/ZnSe(thin)"),
    "InP_ZnSe_ZnSeS": Sample("shell_growth", "InP/ZnSe/ZnSeS"),
    "InP_ZnSe_ZnSeS_ZnS": Sample("shell_growth", MULTISHELL),
    # halide treatments of the multishell QDs (300 C, 60 min)
    "InP_MS_pristine": Sample("halide_treatment", MULTISHELL),
    "InP_MS_OAm": _treated("halide_treatment", "OAm"),
    "InP_MS_ZnCl2": _treated("halide_treatment", "ZnCl2"),
    "InP_MS_ZnBr2": _treated("halide_treatment", "ZnBr2"),
    "InP_MS_ZnI2": _treated("halide_treatment", "ZnI2"),
    "InP_MS_OAmCl": _treated("oam_halide_control", "OAm-Cl"),
    "InP_MS_OAmBr": _treated("oam_halide_control", "OAm-Br"),
    "InP_MS_OAmI": _treated("oam_halide_control", "OAm-I"),
    # ZnBr2 temperature series, its time series and its etch series
    **{temperature_sample(t): _treated("temperature", "ZnBr2", temperature_C=t) for t in TEMPERATURES_C},
    **{time_series_sample(t, m): Sample("time_series", MULTISHELL, "ZnBr2", t, m)
       for t in TIME_SERIES_TEMPERATURES_C for m in TIMES_MIN},
    **{etched_sample(k): Sample("etching", MULTISHELL, "ZnBr2", 300, TREATMENT_MIN, k) for k in ETCH_SERIES_CYCLES},
    **{etched_sample(k, t): Sample("etching", MULTISHELL, "ZnBr2", t, TREATMENT_MIN, k)
       for t in TEMPERATURES_C for k in range(1, N_CYCLES + 1)},
    # oxidised cores (Fig 4): BPO, then OAm-Br at 300 C
    "CdSe_ZnS_pristine": Sample("oxidized_core", "CdSe/ZnS"),
    "CdSe_ZnS_BPO": Sample("oxidized_core", "CdSe/ZnS", "BPO"),
    "CdSe_ZnS_BPO_OAmBr": _treated("oxidized_core", "BPO+OAm-Br", material="CdSe/ZnS"),
    "InP_ZnSeS_pristine": Sample("oxidized_core", "InP/ZnSeS"),
    "InP_ZnSeS_BPO": Sample("oxidized_core", "InP/ZnSeS", "BPO"),
    "InP_ZnSeS_BPO_OAmBr": _treated("oxidized_core", "BPO+OAm-Br", material="InP/ZnSeS"),
}


def sheet_row(file: str, technique: str, sample: str, role: str = "measurement", **extra) -> dict:
    """One ``raw/samples.csv`` row: file, technique, sample, role, the metadata fields, then extras.

    The metadata come from :data:`SAMPLES`; keyword arguments named like a metadata field
    (``series``, ``material``, ...) override them and must give at least ``series`` and ``material``
    for an id that is not catalogued (a reference measurement). Any other keyword argument
    (``sphere_position``, ``concentration_mg_L``) is appended as an extra column, in the order given.

    Parameters
    ----------
    file : str
        Path of the raw file relative to the raw tree.
    technique : str
        Sheet technique (``'uvvis'``, ``'trpl'``, ...).
    sample : str
        Sample id.
    role : str, optional
        Sheet role (``'measurement'``, ``'irf'``, ``'blank'``, ...). Default is ``'measurement'``.
    **extra
        Metadata overrides (:data:`METADATA_FIELDS`) and extra columns.

    Returns
    -------
    dict
        Column name -> value.

    Raises
    ------
    KeyError
        If `sample` is not catalogued and `series` and `material` are not both given.
    """
    overrides = {name: extra.pop(name) for name in METADATA_FIELDS if name in extra}
    if sample in SAMPLES:
        metadata = asdict(SAMPLES[sample])
    elif {"series", "material"} <= overrides.keys():
        metadata = asdict(Sample(overrides["series"], overrides["material"]))
    else:
        raise KeyError(f"{sample!r} is not in qdanalysis.simulate.samples.SAMPLES; "
                       "a reference measurement must give series and material")
    metadata.update(overrides)
    return {"file": file, "technique": technique, "sample": sample, "role": role, **metadata, **extra}
