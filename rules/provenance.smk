# Provenance of a run: every raw file's sha256 (recomputed and checked against the sheet), the
# result tables' hashes, the pinned packages' versions, the git commit and the config, with no
# timestamp so results/provenance.json is byte-identical between runs on the same inputs. The
# published table is not an input here (only the report rules read it); the reproduction report's
# hash stands for it.


rule write_provenance:
    input:
        sheet=str(RAW / "samples.csv"),
        raw=[raw_file(f) for f in SHEET["file"]],
        quantities=QUANTITY_TABLES,
        table_s1=f"{OUT}/TableS1.csv",
        report=f"{OUT}/reproduction_report.csv",
    output:
        provenance=report(f"{OUT}/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        f"{OUT}/logs/write_provenance.log",
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    params:
        sheet_rows=[row_dict(row) for _, row in SHEET.iterrows()],
        config=config,
        workflow_dir=workflow.basedir,
    script:
        "../scripts/write_provenance.py"
