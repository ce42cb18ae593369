# Shared state for every rules file: validated config, the sample sheet (loaded once), and the
# input functions the technique rules use. Rules files never re-read the sheet.

from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.samplesheet import check_sample_sheet, read_sample_sheet, row_dict


validate(config, "../schemas/config.schema.yaml")

RAW = Path(config["raw_dir"])
OUT = config["out_dir"]
FIG = config["fig_dir"]

try:
    SHEET = read_sample_sheet(RAW)
    validate(SHEET, "../schemas/samples.schema.yaml")
    check_sample_sheet(SHEET, RAW, check_hashes=config.get("check_hashes", True))
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
