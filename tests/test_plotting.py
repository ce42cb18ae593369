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
