"""Figure labels (a trace is named by its treatment, and by its sample id too where that is ambiguous),
stacking, and panels whose data the sheet lacks."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from qdanalysis.plotting import trace_labels


def test_unique_treatments_are_labelled_by_treatment_alone():
    labels = trace_labels(["InP_MS", "InP_MS_ZnBr2"], ["none", "ZnBr2"])
    assert labels == {"InP_MS": "Pristine", "InP_MS_ZnBr2": "ZnBr2"}


def test_a_shared_treatment_gets_the_sample_id_after_it():
    labels = trace_labels(["InP_MS", "InP_MS_ZnBr2", "MyLab_InP_ZnBr2"], ["none", "ZnBr2", "ZnBr2"])
    assert labels == {"InP_MS": "Pristine", "InP_MS_ZnBr2": "ZnBr2 (InP_MS_ZnBr2)",
                      "MyLab_InP_ZnBr2": "ZnBr2 (MyLab_InP_ZnBr2)"}
    assert len(set(labels.values())) == 3


def test_two_pristine_samples_are_told_apart():
    labels = trace_labels(["a", "b"], ["none", "none"])
    assert labels == {"a": "Pristine (a)", "b": "Pristine (b)"}


def test_lists_of_different_length_are_refused():
    with pytest.raises(ValueError):
        trace_labels(["a", "b"], ["none"])


def test_stacked_traces_and_labels_never_overlap():
    """Four traces whose peaks fall under the next one's label: every trace clears the traces and labels
    below it, and each label sits above its own trace wherever it spans it."""
    import numpy as np

    from qdanalysis.plotting import stack_traces

    grid = np.linspace(20, 70, 501)
    traces = [np.exp(-0.5 * ((grid - centre) / 1.5) ** 2) for centre in (66, 30, 64, 45)]
    under = [grid >= left for left in (40, 50, 35, 55)]
    heights = [0.05, 0.05, 0.08, 0.05]
    offsets, label_y, top = stack_traces(traces, under, heights)
    assert offsets[0] == 0.0
    assert all(b - a >= 0.75 for a, b in zip(offsets, offsets[1:], strict=False))
    y_range = top + 0.1
    for k in range(1, 4):
        floor = np.max([traces[j] + offsets[j] for j in range(k)], axis=0)
        for j in range(k):
            floor[under[j]] = np.maximum(floor[under[j]], label_y[j] + heights[j] * y_range)
        assert np.all(traces[k] + offsets[k] > floor)
    for k in range(4):
        assert label_y[k] > (traces[k] + offsets[k])[under[k]].max()
    assert top >= label_y[3] + heights[3] * (top + 0.1) - 1e-9


def test_xps_panel_without_its_region_says_so(tmp_path):
    """A sheet whose XPS files lack a figure's region (no halogen lines for Fig S4): the panel carries
    a note and the log says which region, instead of empty axes on a 0-1 eV scale."""
    record = tmp_path / "Lab.json"
    record.write_text(json.dumps({"sample": "Lab", "row": {"treatment": "ZnBr2"}, "regions": {}}))
    driver = f"""
import runpy, types
snakemake = types.SimpleNamespace(
    input=types.SimpleNamespace(fits=[{str(record)!r}]),
    output=types.SimpleNamespace(pdf={str(tmp_path / "S4.pdf")!r}, png={str(tmp_path / "S4.png")!r}),
    params=types.SimpleNamespace(samples=["Lab"], regions=["Cl 2p", "Br 3d"], letters=["a", "b"]),
    log=[{str(tmp_path / "plot.log")!r}])
runpy.run_path({str(ROOT / "scripts" / "plot_xps.py")!r}, init_globals={{"snakemake": snakemake}})
"""
    result = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    log = (tmp_path / "plot.log").read_text()
    assert "Cl 2p: no sample of this figure has the region" in log and "Br 3d: no sample" in log
    assert (tmp_path / "S4.png").stat().st_size > 1000
