# Shared state for every rules file: validated config, the sample sheet (loaded once), and the
# input functions the technique rules use. Rules files never re-read the sheet.

from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.samplesheet import check_sample_sheet, read_sample_sheet, row_dict, validate_sample_sheet
from qdanalysis.pipeline import config_bool
from qdanalysis.tem import figure2_cycles


# `--config check_hashes=false` arrives as the string 'false': make it a boolean before validation
try:
    config["check_hashes"] = config_bool(config.get("check_hashes", True), "check_hashes")
except ValueError as err:
    raise WorkflowError(str(err)) from None
validate(config, "../schemas/config.schema.yaml")

RAW = Path(config["raw_dir"])
OUT = config["out_dir"]
FIG = config["fig_dir"]

try:
    SHEET = read_sample_sheet(RAW)
    validate_sample_sheet(SHEET, RAW, Path(workflow.basedir) / "schemas" / "samples.schema.yaml")
    check_sample_sheet(SHEET, RAW, check_hashes=config["check_hashes"])
except RawDataError as err:
    raise WorkflowError(f"bad raw data: {err}") from None

# Each technique rules file appends its figure stems, quantities tables and Table S1 columns.
FIGURES = []
QUANTITY_TABLES = []
TABLE_S1_QUANTITIES = []
TABLE_S1_SERIES = ["halide_treatment", "oam_halide_control"]


wildcard_constraints:
    sample=r"[A-Za-z0-9_.+-]+",


def rows(technique, role=None, series=None):
    """Sheet rows of a technique, optionally restricted to a role and a series (or list of series)."""
    selected = SHEET[SHEET["technique"] == technique]
    if role is not None:
        selected = selected[selected["role"] == role]
    if series is not None:
        wanted = [series] if isinstance(series, str) else list(series)
        selected = selected[selected["series"].isin(wanted)]
    return selected


def samples(technique, role="measurement", series=None):
    """Sample ids (sheet order, unique) of a technique's rows."""
    return list(dict.fromkeys(rows(technique, role, series)["sample"]))


def raw_file(file):
    return str(RAW / file)


def sample_row(technique, sample, role="measurement"):
    """The one sheet row of (technique, sample, role) as a plain dict, for a script's params."""
    selected = rows(technique, role)
    selected = selected[selected["sample"] == sample]
    if len(selected) != 1:
        raise WorkflowError(f"expected one {technique} {role} row for sample {sample!r}, found {len(selected)}")
    return row_dict(selected.iloc[0])


def measurement_file(technique):
    """Input function: the raw file of the sample's measurement row."""
    return lambda wildcards: raw_file(sample_row(technique, wildcards.sample)["file"])


def fits(technique, sample_ids):
    return [f"{OUT}/{technique}/fits/{sample}.json" for sample in sample_ids]


def sample_metadata(technique, role="measurement"):
    """Metadata rows (plain dicts) of a technique's measurements, for collect/figure scripts."""
    return [row_dict(row) for _, row in rows(technique, role).iterrows()]


def sphere_row(sample, position, role="measurement"):
    """The sheet row of one de Mello measurement (empty sphere = blank) or None if absent."""
    selected = rows("plqy", role)
    selected = selected[(selected["sample"] == sample) & (selected["sphere_position"] == position)]
    if len(selected) > 1:
        raise WorkflowError(f"sample {sample!r}: {len(selected)} plqy rows with sphere_position {position!r}")
    return row_dict(selected.iloc[0]) if len(selected) == 1 else None


def sphere_file(position, role="measurement", optional=False):
    def inner(wildcards):
        row = sphere_row(wildcards.sample, position, role)
        if row is None:
            if optional:
                return []  # no out-of-beam scan: the two-measurement de Mello variant
            raise WorkflowError(f"sample {wildcards.sample!r}: no plqy row with sphere_position "
                                f"{position!r} and role {role!r}")
        return raw_file(row["file"])

    return inner


def sphere_curves(sample):
    """The sheet's curve (label, 1-based index or None) of each de Mello scan of a sample, by position."""
    curves = {}
    for position, role in (("empty", "blank"), ("out_of_beam", "measurement"), ("in_beam", "measurement")):
        row = sphere_row(sample, position, role)
        curves[position] = None if row is None else row["curve"]
    return curves


def trpl_irf_row(wildcards):
    """The IRF row (role irf) of the sample's series, as a plain dict (its file and curve)."""
    series = sample_row("trpl", wildcards.sample)["series"]
    irf = rows("trpl", role="irf", series=series)
    if len(irf) != 1:
        raise WorkflowError(f"trpl sample {wildcards.sample!r}: expected one IRF row for series "
                            f"{series!r}, found {len(irf)}")
    return row_dict(irf.iloc[0])


def trpl_irf_file(wildcards):
    return raw_file(trpl_irf_row(wildcards)["file"])


def xps_samples(series, material=None):
    """XPS measurement samples of one or more series (sheet order), optionally of one material."""
    selected = rows("xps", "measurement", series)
    if material is not None:
        selected = selected[selected["material"] == material]
    return list(dict.fromkeys(selected["sample"]))


def xrd_standard(series):
    """The line-standard sample measured in a series' session (one per series, like the TRPL IRF)."""
    standards = samples("xrd", role="standard", series=series)
    if len(standards) != 1:
        raise WorkflowError(f"xrd series {series!r}: expected one standard row, found {standards}")
    return standards[0]


def xrd_standard_fit(wildcards):
    series = sample_row("xrd", wildcards.sample)["series"]
    return f"{OUT}/xrd/standards/{xrd_standard(series)}.json"


def xrd_oxide_phases(wildcards):
    """Oxide phases to fit: only for samples whose cores were oxidised on purpose (BPO)."""
    treatment = str(sample_row("xrd", wildcards.sample)["treatment"])
    return config["xrd"]["oxide_phases"] if "BPO" in treatment else []
