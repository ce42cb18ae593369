# UV-vis absorption, steady-state PL and absolute PLQY: Figs 1b, 1c, 3b, 3d, 4b, S1, S3a-b, S8 and
# the optical columns of Table S1.


rule analyse_absorption:
    input:
        spectrum=measurement_file("uvvis"),
    output:
        fit=f"{OUT}/uvvis/fits/{{sample}}.json",
    params:
        row=lambda w: sample_row("uvvis", w.sample),
        settings=config["absorption"],
    log:
        f"{OUT}/logs/analyse_absorption/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/analyse_absorption/{{sample}}.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/analyse_absorption.py"


rule fit_pl_spectrum:
    input:
        spectrum=measurement_file("pl"),
    output:
        fit=f"{OUT}/pl/fits/{{sample}}.json",
    params:
        row=lambda w: sample_row("pl", w.sample),
        settings=config["pl"],
    log:
        f"{OUT}/logs/fit_pl_spectrum/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/fit_pl_spectrum/{{sample}}.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/fit_pl_spectrum.py"


rule compute_plqy:
    input:
        empty=sphere_file("empty", role="blank"),
        in_beam=sphere_file("in_beam"),
        out_of_beam=sphere_file("out_of_beam", optional=True),
    output:
        fit=f"{OUT}/plqy/fits/{{sample}}.json",
    params:
        row=lambda w: sphere_row(w.sample, "in_beam"),
        curves=lambda w: sphere_curves(w.sample),
        settings=config["plqy"],
    log:
        f"{OUT}/logs/compute_plqy/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/compute_plqy/{{sample}}.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/compute_plqy.py"


for _technique in ("uvvis", "pl", "plqy"):

    rule:
        name:
            f"collect_{_technique}"
        input:
            fits=fits(_technique, samples(_technique)),
        output:
            quantities=f"{OUT}/{_technique}/quantities.csv",
            summary=f"{OUT}/{_technique}/summary.csv",
        log:
            f"{OUT}/logs/collect_{_technique}.log",
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        script:
            "../scripts/collect_fits.py"

    if samples(_technique):
        QUANTITY_TABLES.append(f"{OUT}/{_technique}/quantities.csv")

TABLE_S1_QUANTITIES += ["pl_peak_nm", "pl_fwhm_nm", "plqy_percent", "plqy_stat_percent", "plqy_sys_percent"]


# ---------------------------------------------------------------- figures
# (figure stem, caption, category, series shown, label column, x range, VD marks, letter)
SPECTRA_FIGURES = [
    ("Fig1b", "fig1b", "Figure 1", ["halide_treatment"], ["treatment"], (380, 650), False, "b"),
    ("FigS1a", "figs1a", "ESI Figure S1", ["shell_growth"], ["material"], (380, 650), True, "a"),
    ("FigS3a", "figs3a", "ESI Figure S3", ["oam_halide_control"], ["treatment"], (380, 650), False, "a"),
    ("FigS8", "figs8", "ESI Figure S8", ["oxidized_core"], ["material", "treatment"], (400, 720), False, ""),
]

for _stem, _caption, _category, _series, _label_by, _xlim, _vd, _letter in SPECTRA_FIGURES:
    _pl, _uvvis = samples("pl", series=_series), samples("uvvis", series=_series)
    if not (_pl or _uvvis):
        continue
    FIGURES.append(f"{FIG}/{_stem}")

    rule:
        name:
            f"plot_{_stem.lower()}"
        input:
            pl=fits("pl", _pl),
            uvvis=fits("uvvis", _uvvis),
        output:
            pdf=report(f"{FIG}/{_stem}.pdf", caption=f"../report/{_caption}.rst", category=_category),
            png=f"{FIG}/{_stem}.png",
        params:
            samples=list(dict.fromkeys(_uvvis + _pl)),
            label_by=_label_by,
            xlim=_xlim,
            annotate_vd=_vd,
            letter=_letter,
        log:
            f"{OUT}/logs/plot_{_stem}.log",
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        script:
            "../scripts/plot_spectra.py"


# (stem, caption, category, series, label column, letter)
PLQY_BAR_FIGURES = [
    ("Fig1c", "fig1c", "Figure 1", ["halide_treatment"], ["treatment"], "c"),
    ("Fig4b", "fig4b", "Figure 4", ["oxidized_core"], ["material", "treatment"], "b"),
    ("FigS1b", "figs1b", "ESI Figure S1", ["shell_growth"], ["material"], "b"),
    ("FigS3b", "figs3b", "ESI Figure S3", ["halide_treatment", "oam_halide_control"], ["treatment"], "b"),
]

for _stem, _caption, _category, _series, _label_by, _letter in PLQY_BAR_FIGURES:
    _samples = samples("plqy", series=_series)
    if not _samples:
        continue
    FIGURES.append(f"{FIG}/{_stem}")

    rule:
        name:
            f"plot_{_stem.lower()}"
        input:
            summary=f"{OUT}/plqy/summary.csv",
        output:
            pdf=report(f"{FIG}/{_stem}.pdf", caption=f"../report/{_caption}.rst", category=_category),
            png=f"{FIG}/{_stem}.png",
        params:
            samples=_samples,
            quantity="plqy_percent",
            ylabel="PLQY (%)",
            label_by=_label_by,
            letter=_letter,
        log:
            f"{OUT}/logs/plot_{_stem}.log",
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        script:
            "../scripts/plot_bars.py"


# (stem, caption, category, technique, series, x, group, quantity, axis labels, letter)
TREND_FIGURES = [
    ("Fig3b", "fig3b", "Figure 3", "plqy", "temperature", "temperature_C", None, "plqy_percent",
     "Post-treatment temperature (°C)", "PLQY (%)", "b"),
    ("Fig3d", "fig3d", "Figure 3", "pl", "time_series", "time_min", "temperature_C", "pl_fwhm_nm",
     "Post-treatment time (min)", "FWHM (nm)", "d"),
]

for _stem, _caption, _category, _technique, _series, _x, _group, _quantity, _xlabel, _ylabel, _letter in TREND_FIGURES:
    if not samples(_technique, series=_series):
        continue
    FIGURES.append(f"{FIG}/{_stem}")

    rule:
        name:
            f"plot_{_stem.lower()}"
        input:
            summary=f"{OUT}/{_technique}/summary.csv",
        output:
            pdf=report(f"{FIG}/{_stem}.pdf", caption=f"../report/{_caption}.rst", category=_category),
            png=f"{FIG}/{_stem}.png",
        params:
            series=_series,
            x=_x,
            group_by=_group,
            group_unit="°C",
            quantity=_quantity,
            xlabel=_xlabel,
            ylabel=_ylabel,
            letter=_letter,
        log:
            f"{OUT}/logs/plot_{_stem}.log",
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        script:
            "../scripts/plot_trend.py"
