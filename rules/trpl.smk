# Time-resolved PL (TCSPC): Fig 1d, Fig 3c, the TRPL columns of Table S1 and an ESI residual figure.
# Each decay is paired with the IRF row (role irf) of its own series: one IRF per measurement session.

rule fit_trpl_decay:
    input:
        decay=measurement_file("trpl"),
        irf=trpl_irf_file,
    output:
        fit=f"{OUT}/trpl/fits/{{sample}}.json",
    params:
        row=lambda w: sample_row("trpl", w.sample),
        irf_row=trpl_irf_row,
        settings=config["trpl"],
    log:
        f"{OUT}/logs/fit_trpl_decay/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/fit_trpl_decay/{{sample}}.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/fit_trpl_decay.py"


rule collect_trpl:
    input:
        fits=fits("trpl", samples("trpl")),
    output:
        quantities=f"{OUT}/trpl/quantities.csv",
        summary=f"{OUT}/trpl/trpl_summary.csv",
    log:
        f"{OUT}/logs/collect_trpl.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/collect_trpl.py"


rule plot_fig1d:
    input:
        fits=fits("trpl", samples("trpl", series="halide_treatment")),
    output:
        pdf=report(f"{FIG}/Fig1d.pdf", caption="../report/fig1d.rst", category="Figure 1"),
        png=f"{FIG}/Fig1d.png",
    params:
        samples=samples("trpl", series="halide_treatment"),
        label_by="treatment",
        inset_ns=[90, 180],
        xlim_ns=[-20, 400],
        letter="d",
    log:
        f"{OUT}/logs/plot_fig1d.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/plot_fig1d.py"


rule plot_fig3c:
    input:
        fits=fits("trpl", samples("trpl", series="temperature")),
    output:
        pdf=report(f"{FIG}/Fig3c.pdf", caption="../report/fig3c.rst", category="Figure 3"),
        png=f"{FIG}/Fig3c.png",
    params:
        samples=samples("trpl", series="temperature"),
        label_by="temperature_C",
        sort_by="temperature_C",
        label_suffix=" °C",
        inset_ns=[100, 200],
        xlim_ns=[-20, 400],
        letter="c",
    log:
        f"{OUT}/logs/plot_fig3c.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/plot_fig3c.py"


rule plot_trpl_residuals:
    input:
        fits=fits("trpl", samples("trpl")),
    output:
        pdf=report(f"{FIG}/FigS_trpl_residuals.pdf", caption="../report/trpl_residuals.rst",
                   category="ESI"),
        png=f"{FIG}/FigS_trpl_residuals.png",
    log:
        f"{OUT}/logs/plot_trpl_residuals.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/plot_trpl_residuals.py"


if samples("trpl"):
    QUANTITY_TABLES.append(f"{OUT}/trpl/quantities.csv")
    TABLE_S1_QUANTITIES += ["tau1_ns", "A1_percent", "tau2_ns", "A2_percent", "tau_avg_ns"]
    FIGURES += [f"{FIG}/Fig1d", f"{FIG}/Fig3c", f"{FIG}/FigS_trpl_residuals"]
