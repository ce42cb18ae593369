"""VAMAS reader/writer: round trip (own reader and the independent ``vamas`` package), energy axes,
count-rate units, and malformed files -> RawDataError naming file and block."""

from pathlib import Path

import numpy as np
import pytest
import vamas

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.vamas import VamasRegion, format_vamas, read_vamas, write_vamas

HV, PHI = 1486.6, 4.5


def _regions():
    kinetic = np.arange(60)
    return [
        VamasRegion("C 1s", "S1", "C", "1s", 1190.0, 0.05, 100 + 3 * kinetic, dwell_time_s=0.2, n_scans=4,
                    transmission=np.linspace(1.0, 1.5, 60)),
        VamasRegion("In 3d", "S1", "In", "3d", 1025.0, 0.1, 500 + kinetic, dwell_time_s=0.1, n_scans=10),
    ]


@pytest.fixture
def vms(tmp_path) -> Path:
    path = tmp_path / "S1.vms"
    write_vamas(path, _regions(), experiment_id="S1")
    return path


def test_round_trip_own_reader(vms):
    experiment = read_vamas(vms)
    assert experiment.labels == ("C 1s", "In 3d")
    assert experiment.experiment_mode == "NORM" and experiment.scan_mode == "REGULAR"
    c1s = experiment.block("C 1s")
    np.testing.assert_allclose(c1s.kinetic_energy_ev, 1190.0 + 0.05 * np.arange(60))
    np.testing.assert_allclose(c1s.binding_energy_ev, HV - c1s.kinetic_energy_ev - PHI)
    counts = 100 + 3 * np.arange(60)
    np.testing.assert_array_equal(c1s.counts, counts)
    transmission = np.linspace(1.0, 1.5, 60)
    np.testing.assert_allclose(c1s.counts_per_second, counts / (0.2 * 4) / transmission)
    np.testing.assert_allclose(c1s.cps_uncertainty, np.sqrt(counts) / (0.2 * 4) / transmission)
    in3d = experiment.block("In 3d")
    assert in3d.transmission is None and in3d.n_scans == 10
    np.testing.assert_allclose(in3d.counts_per_second, (500 + np.arange(60)) / 1.0)


def test_round_trip_independent_vamas_package(vms):
    blocks = vamas.Vamas(str(vms)).blocks
    assert [(b.species_label, b.transition_or_charge_state_label) for b in blocks] == [("C", "1s"), ("In", "3d")]
    for block, region in zip(blocks, _regions()):
        assert block.x_label == "Kinetic Energy" and block.x_units == "eV"
        assert block.x_start == region.kinetic_start_ev and block.x_step == region.kinetic_step_ev
        assert block.analysis_source_characteristic_energy == HV
        assert block.analyzer_work_function_or_acceptance_energy == PHI
        assert block.signal_collection_time == region.dwell_time_s
        assert block.num_scans_to_compile_block == region.n_scans
        np.testing.assert_array_equal(block.corresponding_variables[0].y_values, region.counts)


def test_writer_is_byte_deterministic():
    assert format_vamas(_regions(), experiment_id="S1") == format_vamas(_regions(), experiment_id="S1")


def test_binding_energy_abscissa(vms, tmp_path):
    lines = vms.read_text().splitlines()
    i = lines.index("Kinetic Energy")  # first block: relabel and give the binding-energy start
    lines[i], lines[i + 2], lines[i + 3] = "Binding Energy", "292.1", "-0.05"
    path = tmp_path / "be.vms"
    path.write_text("\n".join(lines) + "\n")
    c1s = read_vamas(path).block("C 1s")
    np.testing.assert_allclose(c1s.binding_energy_ev, 292.1 - 0.05 * np.arange(60))
    np.testing.assert_allclose(c1s.kinetic_energy_ev, HV - c1s.binding_energy_ev - PHI)


def test_exclusion_list_repeats_first_block(vms, tmp_path):
    """A negative inclusion count excludes parameters from blocks 2..N (ISO 14976); the vamas
    package mis-indexes this, our reader takes block 1's value."""
    lines = vms.read_text().splitlines()
    assert lines[10] == "0"  # number of entries in the parameter inclusion/exclusion list
    lines[10:11] = ["-1", "1"]  # exclude (1) the year
    second = lines.index("In 3d")
    del lines[second + 2]
    path = tmp_path / "excl.vms"
    path.write_text("\n".join(lines) + "\n")
    blocks = read_vamas(path).blocks
    assert blocks[1].metadata["date"] == blocks[0].metadata["date"]
    np.testing.assert_array_equal(blocks[1].counts, 500 + np.arange(60))


def _broken(vms: Path, tmp_path: Path, edit) -> Path:
    lines = vms.read_text().splitlines()
    path = tmp_path / "broken.vms"
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


def _second_block_value(lines):
    start = lines.index("In 3d")
    lines[len(lines) - 10] = "12x"
    assert len(lines) - 10 > start
    return lines


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines[: len(lines) // 2 + 40], "block 2 of 2"),  # truncated inside block 2
    (lambda lines: ["VAMAS Surface Chemical Analysis Standard Data Transfer Format 1990"] + lines[1:],
     "not a VAMAS file"),
    (_second_block_value, "block 2 of 2 ('In 3d')"),
    (lambda lines: lines[:14] + ["3"] + lines[15:], "block 3 of 3"),  # header declares 3 blocks, file has 2
    (lambda lines: lines[:14] + ["1"] + lines[15:], "block count"),  # header declares 1
    (lambda lines: lines[:-1], "end of experiment"),  # terminator missing
])
def test_bad_files_name_file_and_block(vms, tmp_path, edit, message):
    path = _broken(vms, tmp_path, edit)
    with pytest.raises(RawDataError, match="broken.vms") as info:
        read_vamas(path)
    assert message in str(info.value)


def test_non_numeric_names_kind_and_line(vms, tmp_path):
    path = _broken(vms, tmp_path, _second_block_value)
    with pytest.raises(RawDataError, match=r"line \d+: non-numeric ordinate value '12x'"):
        read_vamas(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.vms"
    path.write_text("\n")
    with pytest.raises(RawDataError, match="empty.vms: file is empty"):
        read_vamas(path)


def test_block_without_ordinates(vms, tmp_path):
    def empty_block(lines):
        # The In 3d block's ordinate count is the line after its last 'additional parameters' 0.
        n = 60
        end = len(lines) - 1  # 'end of experiment'
        count_line = end - n - 2 - 1
        assert lines[count_line] == str(n)
        return lines[:count_line] + ["0"] + lines[end:]

    with pytest.raises(RawDataError, match=r"block 2 of 2 \('In 3d'\).*no ordinate values"):
        read_vamas(_broken(vms, tmp_path, empty_block))
