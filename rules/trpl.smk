# Time-resolved PL (TCSPC): Fig 1d, Fig 3c, the TRPL columns of Table S1 and an ESI residual figure.
# Each decay is paired with the IRF row (role irf) of its own series: one IRF per measurement session.
# One job fits every decay (qdanalysis.batch); one job draws the TRPL panels (rules/figures.smk).

TRPL_TASKS = trpl_tasks()

if TRPL_TASKS:

    rule fit_trpl_decays:
        input:
            raw=task_files(TRPL_TASKS),
        output:
            **batch_outputs("trpl"),
        log:
            f"{OUT}/logs/fit_trpl_decays.log",
        benchmark:
            f"{OUT}/benchmarks/fit_trpl_decays.tsv"
        conda:
            "../envs/pipeline.yaml"
        resources:
            mem_mb=2000,
            runtime=30,
        params:
            technique="trpl",
            step="qdanalysis.steps.trpl:decay",
            summary_columns="qdanalysis.steps.trpl:summary_columns",
            tasks=TRPL_TASKS,
            settings=config["trpl"],
        script:
            "../scripts/analyse_samples.py"

    QUANTITY_TABLES.append(f"{OUT}/trpl/quantities.csv")
    FAILURE_TABLES.append(f"{OUT}/trpl/failures.csv")
    TABLE_S1_QUANTITIES += ["tau1_ns", "A1_percent", "tau2_ns", "A2_percent", "tau_avg_ns"]


# (stem, caption, category, series, legend column, sort column, legend suffix, inset window, letter)
DECAY_FIGURES = [
    ("Fig1d", "fig1d", "Figure 1", "halide_treatment", "treatment", None, "", [90, 180], "d"),
    ("Fig3c", "fig3c", "Figure 3", "temperature", "temperature_C", "temperature_C", " °C", [100, 200], "c"),
]

for _stem, _caption, _category, _series, _label_by, _sort_by, _suffix, _inset, _letter in DECAY_FIGURES:
    _samples = samples("trpl", series=_series)
    if _samples:
        add_figure(
            "trpl",
            _stem,
            "decays",
            _caption,
            _category,
            inputs={"fits": f"{OUT}/trpl/fits"},
            params={
                "samples": _samples,
                "label_by": _label_by,
                "sort_by": _sort_by,
                "label_suffix": _suffix,
                "inset_ns": _inset,
                "xlim_ns": [-20, 400],
                "letter": _letter,
            },
        )

if samples("trpl"):
    add_figure(
        "trpl",
        "FigS_trpl_residuals",
        "decay_residuals",
        "trpl_residuals",
        "ESI",
        inputs={"fits": f"{OUT}/trpl/fits"},
        params={"samples": samples("trpl")},
    )
