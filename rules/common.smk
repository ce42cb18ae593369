# Shared state for every rules file: validated config, the sample sheet (loaded once), and the
# input functions the technique rules use. Rules files never re-read the sheet.

from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.samplesheet import check_sample_sheet, read_sample_sheet, row_dict, validate_sample_sheet
from qdanalysis.pipeline import config_bool, figure2_cycles

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
    check_sample_sheet(
        SHEET, RAW, check_hashes=config["check_hashes"], hash_cache=Path(".snakemake") / "qdanalysis_raw_sha256.json"
    )
except RawDataError as err:
    raise WorkflowError(f"bad raw data: {err}") from None

# Each technique rules file appends its figure stems, quantities tables and Table S1 columns.
FIGURES = []
QUANTITY_TABLES = []
FAILURE_TABLES = []  # failures.csv of every batch job; rule check_failures fails the run if any lists a sample
FIGURE_GROUPS = {}  # group -> panel specs; rules/figures.smk makes one plot job per group
TABLE_S1_QUANTITIES = []
TABLE_S1_SERIES = ["halide_treatment", "oam_halide_control"]


wildcard_constraints:
    sample=r"[A-Za-z0-9_.+-]+",


# The sheet indexed once (plain dicts): the rules look rows up hundreds of times while the workflow is
# parsed, and pandas boolean indexing per look-up made parsing grow with the sheet (issue 12).
SHEET_ROWS = [row_dict(row) for row in SHEET.to_dict("records")]
_POSITIONS = {}  # (technique, role) -> row positions, and (technique, role, sample) -> row positions
for _i, _row in enumerate(SHEET_ROWS):
    _POSITIONS.setdefault((_row["technique"], _row["role"]), []).append(_i)
    _POSITIONS.setdefault((_row["technique"], _row["role"], _row["sample"]), []).append(_i)


def _positions(technique, role=None, series=None):
    if role is None:
        positions = sorted(
            i for key, found in _POSITIONS.items() if len(key) == 2 and key[0] == technique for i in found
        )
    else:
        positions = _POSITIONS.get((technique, role), [])
    if series is not None:
        wanted = {series} if isinstance(series, str) else set(series)
        positions = [i for i in positions if SHEET_ROWS[i]["series"] in wanted]
    return positions


def rows(technique, role=None, series=None):
    """Sheet rows of a technique, optionally restricted to a role and a series (or list of series)."""
    return SHEET.iloc[_positions(technique, role, series)]


def row_dicts(technique, role=None, series=None):
    """The same rows as :func:`rows`, as plain dicts (NA -> None), without pandas indexing."""
    return [dict(SHEET_ROWS[i]) for i in _positions(technique, role, series)]


def _rows_of(technique, role, sample):
    """Row dicts of (technique, role, sample), sheet order."""
    return [SHEET_ROWS[i] for i in _POSITIONS.get((technique, role, sample), [])]


def samples(technique, role="measurement", series=None):
    """Sample ids (sheet order, unique) of a technique's rows."""
    return list(dict.fromkeys(row["sample"] for row in row_dicts(technique, role, series)))


def raw_file(file):
    return str(RAW / file)


def sample_row(technique, sample, role="measurement"):
    """The one sheet row of (technique, sample, role) as a plain dict, for a script's params."""
    selected = _rows_of(technique, role, sample)
    if len(selected) != 1:
        raise WorkflowError(f"expected one {technique} {role} row for sample {sample!r}, found {len(selected)}")
    return dict(selected[0])


def get_raw_file(technique, role="measurement"):
    """Input function for a per-sample rule: the raw file of the ``{sample}``'s (technique, role) row."""

    def raw_file_of(wildcards):
        return raw_file(sample_row(technique, wildcards.sample, role)["file"])

    return raw_file_of


def get_sheet_row(technique, role="measurement"):
    """Params function for a per-sample rule: the ``{sample}``'s (technique, role) sheet row as a dict."""

    def sheet_row_of(wildcards):
        return sample_row(technique, wildcards.sample, role)

    return sheet_row_of


def fits(technique, sample_ids):
    return [f"{OUT}/{technique}/fits/{sample}.json" for sample in sample_ids]


def sample_metadata(technique, role="measurement"):
    """Metadata rows (plain dicts) of a technique's measurements, for collect/figure scripts."""
    return row_dicts(technique, role)


def batch_outputs(technique):
    """The outputs of every batch job (records directory, the technique tables, its failures)."""
    return {
        "fits": directory(f"{OUT}/{technique}/fits"),
        "quantities": f"{OUT}/{technique}/quantities.csv",
        "summary": f"{OUT}/{technique}/summary.csv",
        "failures": f"{OUT}/{technique}/failures.csv",
    }


def sample_tasks(technique, role="measurement"):
    """One batch task per measurement row: the sample, its raw file, its sheet row (qdanalysis.batch.Task)."""
    return [
        {"sample": row["sample"], "files": [raw_file(row["file"])], "params": {"row": row}}
        for row in sample_metadata(technique, role)
    ]


def task_files(tasks):
    """Every raw file a list of batch tasks reads (the batch rule's input)."""
    return list(dict.fromkeys(f for task in tasks for f in task["files"]))


def plqy_tasks():
    """One task per PLQY sample: files (empty sphere, in beam[, out of beam]), the in-beam row, the curves."""
    tasks = []
    for sample in samples("plqy"):
        scans = [sphere_row(sample, "empty", "blank"), sphere_row(sample, "in_beam"), sphere_row(sample, "out_of_beam")]
        for row, position in zip(scans[:2], ("empty", "in_beam")):
            if row is None:
                raise WorkflowError(
                    f"bad raw data: {RAW / 'samples.csv'}: plqy sample {sample!r} has no "
                    f"sphere_position {position!r} row"
                )
        files = [raw_file(row["file"]) for row in scans if row is not None]
        tasks.append({"sample": sample, "files": files, "params": {"row": scans[1], "curves": sphere_curves(sample)}})
    return tasks


def add_figure(group, stem, kind, caption, category, *, inputs, params):
    """Register a panel: drawn by qdanalysis.figures.<kind> in the group's plot job (rules/figures.smk)."""
    FIGURES.append(f"{FIG}/{stem}")
    FIGURE_GROUPS.setdefault(group, []).append(
        {
            "stem": stem,
            "kind": kind,
            "caption": caption,
            "category": category,
            "inputs": inputs,
            "params": params,
            "pdf": f"{FIG}/{stem}.pdf",
            "png": f"{FIG}/{stem}.png",
        }
    )


def figure_inputs(specs):
    """Every table/record path the group's panels read (empty entries dropped)."""
    paths = []
    for spec in specs:
        for value in spec["inputs"].values():
            paths += [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(p for p in paths if p))


def figure_outputs(specs):
    """``<stem>_pdf`` (captioned for the HTML report) and ``<stem>_png`` of every panel of a group."""
    outputs = {}
    for spec in specs:
        outputs[f"{spec['stem']}_pdf"] = report(
            spec["pdf"], caption=f"../report/{spec['caption']}.rst", category=spec["category"]
        )
        outputs[f"{spec['stem']}_png"] = spec["png"]
    return outputs


def trpl_tasks():
    """One task per decay: files (decay, its series' IRF), the decay's row and the IRF's row (curves)."""
    tasks = []
    for row in row_dicts("trpl", "measurement"):
        irf = row_dicts("trpl", "irf", row["series"])
        if len(irf) != 1:
            raise WorkflowError(
                f"bad raw data: {RAW / 'samples.csv'}: trpl sample {row['sample']!r}: expected "
                f"one IRF row (role irf) for series {row['series']!r}, found {len(irf)}"
            )
        tasks.append(
            {
                "sample": row["sample"],
                "files": [raw_file(row["file"]), raw_file(irf[0]["file"])],
                "params": {"row": row, "irf_row": irf[0]},
            }
        )
    return tasks


def sphere_row(sample, position, role="measurement"):
    """The sheet row of one de Mello measurement (empty sphere = blank) or None if absent."""
    selected = [row for row in _rows_of("plqy", role, sample) if row["sphere_position"] == position]
    if len(selected) > 1:
        raise WorkflowError(f"sample {sample!r}: {len(selected)} plqy rows with sphere_position {position!r}")
    return dict(selected[0]) if selected else None


def sphere_file(position, role="measurement", optional=False):
    def inner(wildcards):
        row = sphere_row(wildcards.sample, position, role)
        if row is None:
            if optional:
                return []  # no out-of-beam scan: the two-measurement de Mello variant
            raise WorkflowError(
                f"sample {wildcards.sample!r}: no plqy row with sphere_position " f"{position!r} and role {role!r}"
            )
        return raw_file(row["file"])

    return inner


def sphere_curves(sample):
    """The sheet's curve (label, 1-based index or None) of each de Mello scan of a sample, by position."""
    curves = {}
    for position, role in (("empty", "blank"), ("out_of_beam", "measurement"), ("in_beam", "measurement")):
        row = sphere_row(sample, position, role)
        curves[position] = None if row is None else row["curve"]
    return curves


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
