# TEM: calibrated micrographs (TIFF or Gatan .dm3/.dm4; the reader follows the sheet file's
# extension) -> particle segmentation, equivalent-circle diameters, binned-Gaussian fit of the size histogram -> Figs 2a-d (etch cycles) and S2 (halide treatments)
# and results/tem/quantities.csv (tem_diameter_nm, tem_sd_nm, tem_count).


rule measure_tem_sizes:
    input:
        micrograph=get_raw_file("tem"),
    output:
        fit=f"{OUT}/tem/fits/{{sample}}.json",
        display=f"{OUT}/tem/display/{{sample}}.tif",
    log:
        f"{OUT}/logs/measure_tem_sizes/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/measure_tem_sizes/{{sample}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        row=get_sheet_row("tem"),
        settings=config["tem"],
        display_px=config["tem"]["display_px"],
    script:
        "../scripts/measure_tem_sizes.py"


rule collect_tem:
    input:
        fits=fits("tem", samples("tem")),
    output:
        quantities=f"{OUT}/tem/quantities.csv",
        summary=f"{OUT}/tem/summary.csv",
    log:
        f"{OUT}/logs/collect_tem.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/collect_fits.py"


if samples("tem"):
    QUANTITY_TABLES.append(f"{OUT}/tem/quantities.csv")


# ---------------------------------------------------------------- figures
# Fig 2a-d: etching-series samples (sheet column etch_cycle), at most four: the cycles of
# config tem.figure2_cycles that the sheet has (a filter), or, with none of them, cycles spread over the sheet's.
_TEM_ETCH = rows("tem", "measurement", "etching").dropna(subset=["etch_cycle"])
_TEM_BY_CYCLE = {int(c): s for c, s in zip(_TEM_ETCH["etch_cycle"], _TEM_ETCH["sample"])}
_FIG2_CYCLES = figure2_cycles(sorted(_TEM_BY_CYCLE), config["tem"].get("figure2_cycles"))
# (figure stem, caption, category, samples, layout, letter, all samples green)
TEM_FIGURES = [
    (f"Fig2{letter}", f"fig2{letter}", "Figure 2", [_TEM_BY_CYCLE[cycle]], "micrograph", letter, True)
    for letter, cycle in zip("abcd", _FIG2_CYCLES)
] + [("FigS2", "figs2", "ESI Figure S2", samples("tem", series="halide_treatment"), "histograms", "a", False)]

for _stem, _caption, _category, _samples, _layout, _letter, _all_green in TEM_FIGURES:
    if not _samples:
        continue
    FIGURES.append(f"{FIG}/{_stem}")

    rule:
        name:
            f"plot_{_stem.lower()}"
        input:
            fits=fits("tem", _samples),
            displays=[f"{OUT}/tem/display/{s}.tif" for s in _samples],
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
            layout=_layout,
            letter=_letter,
            all_green=_all_green,
        script:
            "../scripts/plot_tem.py"
