# One plot job per figure group (qdanalysis.figures): every panel a technique file registered with
# add_figure() is drawn in one process by scripts/plot_figures.py. Included after the technique files.


for _group, _specs in FIGURE_GROUPS.items():

    rule:
        name:
            f"plot_{_group}_figures"
        input:
            figure_inputs(_specs),
        output:
            **figure_outputs(_specs),
        log:
            f"{OUT}/logs/plot_{_group}_figures.log",
        benchmark:
            f"{OUT}/benchmarks/plot_{_group}_figures.tsv"
        localrule: True
        conda:
            "../envs/pipeline.yaml"
        params:
            figures=[{k: spec[k] for k in ("stem", "kind", "inputs", "params", "pdf", "png")} for spec in _specs],
        script:
            "../scripts/plot_figures.py"
