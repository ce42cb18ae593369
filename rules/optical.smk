# UV-vis absorption, steady-state PL and absolute PLQY: Figs 1b, 1c, 3b, 3d, 4b, S1, S3a-b, S8 and
# the optical columns of Table S1.


# One job per technique (qdanalysis.batch): every sample's record in <technique>/fits/, its log beside it.
# (technique, rule name, step function, tasks, config section)
OPTICAL_BATCHES = [
    ("uvvis", "analyse_absorption_spectra", "qdanalysis.steps.optical:absorption", sample_tasks("uvvis"), "absorption"),
    ("pl", "fit_pl_spectra", "qdanalysis.steps.optical:pl_spectrum", sample_tasks("pl"), "pl"),
    ("plqy", "compute_plqys", "qdanalysis.steps.optical:plqy", plqy_tasks(), "plqy"),
]

for _technique, _name, _step, _tasks, _section in OPTICAL_BATCHES:
    if not _tasks:
        continue

    rule:
        name:
            _name
        input:
            raw=task_files(_tasks),
        output:
            **batch_outputs(_technique),
        log:
            f"{OUT}/logs/{_name}.log",
        benchmark:
            f"{OUT}/benchmarks/{_name}.tsv"
        conda:
            "../envs/pipeline.yaml"
        resources:
            mem_mb=2000,
            runtime=30,
        params:
            technique=_technique,
            step=_step,
            tasks=_tasks,
            settings=config[_section],
        script:
            "../scripts/analyse_samples.py"

    QUANTITY_TABLES.append(f"{OUT}/{_technique}/quantities.csv")
    FAILURE_TABLES.append(f"{OUT}/{_technique}/failures.csv")


TABLE_S1_QUANTITIES += ["pl_peak_nm", "pl_fwhm_nm", "plqy_percent", "plqy_stat_percent", "plqy_sys_percent"]


# ---------------------------------------------------------------- figures
# Panel specs: drawn by rule plot_optical_figures (rules/figures.smk) with qdanalysis.figures.<kind>.
# (figure stem, caption, category, series shown, label column, x range, VD marks, letter)
SPECTRA_FIGURES = [
    ("Fig1b", "fig1b", "Figure 1", ["halide_treatment"], ["treatment"], (380, 650), False, "b"),
    ("FigS1a", "figs1a", "ESI Figure S1", ["shell_growth"], ["material"], (380, 650), True, "a"),
    ("FigS3a", "figs3a", "ESI Figure S3", ["oam_halide_control"], ["treatment"], (380, 650), False, "a"),
    ("FigS8", "figs8", "ESI Figure S8", ["oxidized_core"], ["material", "treatment"], (400, 720), False, ""),
]

for _stem, _caption, _category, _series, _label_by, _xlim, _vd, _letter in SPECTRA_FIGURES:
    _pl, _uvvis = samples("pl", series=_series), samples("uvvis", series=_series)
    if _pl or _uvvis:
        add_figure(
            "optical",
            _stem,
            "spectra",
            _caption,
            _category,
            inputs={"pl": f"{OUT}/pl/fits" if _pl else "", "uvvis": f"{OUT}/uvvis/fits" if _uvvis else ""},
            params={
                "samples": list(dict.fromkeys(_uvvis + _pl)),
                "label_by": _label_by,
                "xlim": _xlim,
                "annotate_vd": _vd,
                "letter": _letter,
            },
        )

# (stem, caption, category, series, label column, letter)
PLQY_BAR_FIGURES = [
    ("Fig1c", "fig1c", "Figure 1", ["halide_treatment"], ["treatment"], "c"),
    ("Fig4b", "fig4b", "Figure 4", ["oxidized_core"], ["material", "treatment"], "b"),
    ("FigS1b", "figs1b", "ESI Figure S1", ["shell_growth"], ["material"], "b"),
    ("FigS3b", "figs3b", "ESI Figure S3", ["halide_treatment", "oam_halide_control"], ["treatment"], "b"),
]

for _stem, _caption, _category, _series, _label_by, _letter in PLQY_BAR_FIGURES:
    _samples = samples("plqy", series=_series)
    if _samples:
        add_figure(
            "optical",
            _stem,
            "bars",
            _caption,
            _category,
            inputs={"summary": f"{OUT}/plqy/summary.csv"},
            params={
                "samples": _samples,
                "quantity": "plqy_percent",
                "ylabel": "PLQY (%)",
                "label_by": _label_by,
                "letter": _letter,
            },
        )

# (stem, caption, category, technique, series, x, group, quantity, axis labels, letter)
TREND_FIGURES = [
    (
        "Fig3b",
        "fig3b",
        "Figure 3",
        "plqy",
        "temperature",
        "temperature_C",
        None,
        "plqy_percent",
        "Post-treatment temperature (°C)",
        "PLQY (%)",
        "b",
    ),
    (
        "Fig3d",
        "fig3d",
        "Figure 3",
        "pl",
        "time_series",
        "time_min",
        "temperature_C",
        "pl_fwhm_nm",
        "Post-treatment time (min)",
        "FWHM (nm)",
        "d",
    ),
]

for _stem, _caption, _category, _technique, _series, _x, _group, _quantity, _xlabel, _ylabel, _letter in TREND_FIGURES:
    if samples(_technique, series=_series):
        add_figure(
            "optical",
            _stem,
            "trend",
            _caption,
            _category,
            inputs={"summary": f"{OUT}/{_technique}/summary.csv"},
            params={
                "series": _series,
                "x": _x,
                "group_by": _group,
                "group_unit": "°C",
                "quantity": _quantity,
                "xlabel": _xlabel,
                "ylabel": _ylabel,
                "letter": _letter,
            },
        )
