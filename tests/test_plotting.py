"""Figure labels: a trace is named by its treatment, and by its sample id too where that is ambiguous."""

import pytest

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
