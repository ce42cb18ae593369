# XRD: .xy or .xrdml powder patterns (reader by extension) -> zinc blende (111) fit, Scherrer size, CdO/ZnO oxide ratio ->
# Figs S1d and 4c and results/xrd/quantities.csv. Each series' session has a Si line standard
# (role standard) that gives the instrument FWHM for the Scherrer correction.


rule fit_xrd_standard:
    input:
        pattern=get_raw_file("xrd", role="standard"),
    output:
        fit=f"{OUT}/xrd/standards/{{sample}}.json",
    log:
        f"{OUT}/logs/fit_xrd_standard/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/fit_xrd_standard/{{sample}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        row=get_sheet_row("xrd", role="standard"),
        settings=config["xrd"],
        oxide_phases=[],
    script:
        "../scripts/fit_xrd_pattern.py"


rule fit_xrd_pattern:
    input:
        pattern=get_raw_file("xrd"),
        standard=xrd_standard_fit,
    output:
        fit=f"{OUT}/xrd/fits/{{sample}}.json",
    log:
        f"{OUT}/logs/fit_xrd_pattern/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/fit_xrd_pattern/{{sample}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        row=get_sheet_row("xrd"),
        settings=config["xrd"],
        oxide_phases=xrd_oxide_phases,
    script:
        "../scripts/fit_xrd_pattern.py"


rule collect_xrd:
    input:
        fits=fits("xrd", samples("xrd")),
        standards=[f"{OUT}/xrd/standards/{s}.json" for s in samples("xrd", role="standard")],
    output:
        quantities=f"{OUT}/xrd/quantities.csv",
        summary=f"{OUT}/xrd/summary.csv",
        references=f"{OUT}/xrd/reference_peaks.csv",
    log:
        f"{OUT}/logs/collect_xrd.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    params:
        reference_phases=config["xrd"]["reference_phases"],
        two_theta_max_deg=90.0,
    script:
        "../scripts/collect_xrd.py"


if samples("xrd"):
    QUANTITY_TABLES.append(f"{OUT}/xrd/quantities.csv")


# ---------------------------------------------------------------- figures
# (figure stem, caption, category, samples, reference phases (top to bottom), letter)
_CDSE_ZNS = list(rows("xrd", "measurement", "oxidized_core").query("material == 'CdSe/ZnS'")["sample"])
XRD_FIGURES = [
    ("FigS1d", "figs1d", "ESI Figure S1", samples("xrd", series="halide_treatment"), ["InP", "ZnSe", "ZnS"], "d"),
    ("Fig4c", "fig4c", "Figure 4", _CDSE_ZNS, ["CdO", "ZnO", "CdSe", "ZnS"], "c"),
]

for _stem, _caption, _category, _samples, _phases, _letter in XRD_FIGURES:
    if not _samples:
        continue
    FIGURES.append(f"{FIG}/{_stem}")

    rule:
        name:
            f"plot_{_stem.lower()}"
        input:
            fits=fits("xrd", _samples),
            references=f"{OUT}/xrd/reference_peaks.csv",
        output:
            pdf=report(f"{FIG}/{_stem}.pdf", caption=f"../report/{_caption}.rst", category=_category),
            png=f"{FIG}/{_stem}.png",
        log:
            f"{OUT}/logs/plot_{_stem}.log",
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        params:
            samples=_samples,
            reference_phases=_phases,
            letter=_letter,
            xlim=(20, 70),
        script:
            "../scripts/plot_xrd.py"
