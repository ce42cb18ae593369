"""Readers for TCSPC histograms: Fluoracle CSV exports (qdanalysis.io.tcspc) and PicoQuant PHU."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.io.phu import read_phu
from qdanalysis.io.tcspc import read_tcspc_csv, read_tcspc_pair
from qdanalysis.simulate.trpl import simulate_decay, simulate_irf, time_axis


@pytest.fixture(scope="module")
def histograms():
    rng = np.random.default_rng(7)
    time_ns = time_axis(400, 0.5)
    decay = simulate_decay(time_ns, [10.0, 40.0], [0.6, 0.4], rng, peak_counts=2000.0)
    irf = simulate_irf(time_ns, rng, peak_counts=2000.0)
    return time_ns, decay, irf


def write(path, time_ns, counts, scan_type="Time Scan", comment="rep_rate_MHz=5", **kw):
    path.write_text(format_fluoracle_csv(time_ns, counts, label=path.stem, scan_type=scan_type,
                                         x_axis="Time(ns)", comment=comment, **kw))
    return path


def test_good_decay_and_irf_round_trip(tmp_path, histograms):
    time_ns, decay, irf = histograms
    record = read_tcspc_csv(write(tmp_path / "decay.csv", time_ns, decay))
    assert np.array_equal(record.counts, decay)
    assert np.allclose(record.time_ns, time_ns)
    assert record.time_step_ns == pytest.approx(0.5)
    assert record.repetition_period_ns == pytest.approx(200.0)
    irf_record = read_tcspc_csv(write(tmp_path / "irf.csv", time_ns, irf, scan_type="Instrument Response Time Scan"),
                                role="irf")
    assert irf_record.counts.dtype == np.int64 and irf_record.role == "irf"


def bad_cases(time_ns, decay):
    text = format_fluoracle_csv(time_ns, decay, label="x", scan_type="Time Scan",
                                x_axis="Time(ns)")
    lines = text.splitlines()
    non_monotonic = time_ns.copy()
    non_monotonic[50], non_monotonic[51] = non_monotonic[51], non_monotonic[50]
    negative = decay.astype(float).copy()
    negative[30] = -3
    return {
        "truncated": "\n".join(lines[: len(lines) // 2]) + "\n",
        "truncated_row": "\n".join(lines[:-1] + ["199.50"]) + "\n",
        "zero_counts": format_fluoracle_csv(time_ns, 0 * decay, label="x", scan_type="Time Scan",
                                            x_axis="Time(ns)"),
        "non_monotonic": format_fluoracle_csv(non_monotonic, decay, label="x",
                                              scan_type="Time Scan", x_axis="Time(ns)"),
        "negative_counts": format_fluoracle_csv(time_ns, negative, label="x",
                                                scan_type="Time Scan", x_axis="Time(ns)"),
        "fractional_counts": format_fluoracle_csv(time_ns, decay + 0.5, label="x", y_format="{:.1f}",
                                                  scan_type="Time Scan", x_axis="Time(ns)"),
        "flat_no_rise": format_fluoracle_csv(time_ns, 0 * decay + 5, label="x",
                                             scan_type="Time Scan", x_axis="Time(ns)"),
        "wavelength_axis": format_fluoracle_csv(time_ns + 400, decay, label="x", scan_type="Emission Scan",
                                                x_axis="Wavelength"),
    }


@pytest.mark.parametrize("case", ["truncated", "truncated_row", "zero_counts", "non_monotonic",
                                  "negative_counts", "fractional_counts", "flat_no_rise", "wavelength_axis"])
def test_bad_decay_files_name_the_file(tmp_path, histograms, case):
    time_ns, decay, _ = histograms
    path = tmp_path / f"bad_{case}.csv"
    path.write_text(bad_cases(time_ns, decay)[case])
    with pytest.raises(RawDataError, match=f"bad_{case}.csv"):
        read_tcspc_csv(path)


def test_missing_irf_file_is_named(tmp_path):
    with pytest.raises(RawDataError, match="IRF_halide_treatment.csv"):
        read_tcspc_csv(tmp_path / "IRF_halide_treatment.csv", role="irf")


def test_decay_given_as_irf_is_refused(tmp_path, histograms):
    time_ns, decay, _ = histograms
    path = write(tmp_path / "InP_MS_OAm.csv", time_ns, decay)
    with pytest.raises(RawDataError, match="InP_MS_OAm.csv: as IRF it rises in .* a decay, not an instrument"):
        read_tcspc_csv(path, role="irf")


def test_role_comes_from_the_sheet_not_from_type(tmp_path, histograms):
    """A scatter recorded as a plain 'Time Scan' is a valid IRF; Type does not decide the role."""
    time_ns, decay, irf = histograms
    irf_path = write(tmp_path / "ludox.csv", time_ns, irf, scan_type="Time Scan")
    decay_path = write(tmp_path / "qd.csv", time_ns, decay, scan_type="Instrument Response Time Scan")
    got_decay, got_irf = read_tcspc_pair(decay_path, irf_path)
    assert got_irf.role == "irf" and got_decay.role == "decay"
    assert read_tcspc_csv(decay_path, role="measurement").role == "decay"
    # a response ~10 ns wide (symmetric, so not refused on its own) next to a sub-ns "decay"
    kernel = np.exp(-0.5 * (np.arange(-30, 31) / 8.0) ** 2)
    wide = np.round(np.convolve(irf, kernel / kernel.max(), "same"))
    with pytest.raises(RawDataError, match=r"wide.csv: as IRF it falls to half .* slower than the decay ludox.csv"):
        read_tcspc_pair(irf_path, write(tmp_path / "wide.csv", time_ns, wide))


@pytest.mark.parametrize("scan_type", ["Emission Scan", "Time-Resolved Emission"])
def test_non_tcspc_types_are_refused(tmp_path, histograms, scan_type):
    time_ns, decay, _ = histograms
    path = tmp_path / "typed.csv"
    path.write_text(format_fluoracle_csv(time_ns, decay, label="x", scan_type="Time Scan", x_axis="Time(ns)")
                    .replace("Type,Time Scan,", f"Type,{scan_type},"))
    with pytest.raises(RawDataError, match=f"typed.csv, line 2: .*Type '{scan_type}' is not a TCSPC time scan"):
        read_tcspc_csv(path)


# --- PicoQuant PHU -------------------------------------------------------------------------------
def _tag(name, value, typecode, index=-1):
    payload = struct.pack("<d", value) if typecode == 0x20000008 else struct.pack("<q", value)
    return struct.pack("<32siI", name.encode().ljust(32, b"\0"), index, typecode) + payload


def minimal_phu(histograms: list[np.ndarray], resolution_s: float) -> bytes:
    """A minimal PicoQuant unified-tag PHU file (what ptufile.PhuFile needs), written by hand because
    ptufile only reads PHU. Tag layout: 32-byte name, int32 index, uint32 type, 8-byte value."""
    int8, float8 = 0x10000008, 0x20000008
    n_tags_fixed = 5 + 2 * len(histograms) + 1
    header_size = 16 + 48 * n_tags_fixed
    tags = [_tag("Measurement_Mode", 0, int8), _tag("Measurement_SubMode", 1, int8),
            _tag("HistoResult_NumberOfCurves", len(histograms), int8),
            _tag("MeasDesc_Resolution", resolution_s, float8), _tag("HW_BaseResolution", resolution_s, float8)]
    offset = header_size
    for i, histogram in enumerate(histograms):
        tags.append(_tag("HistResDscr_DataOffset", offset, int8, i))
        offset += 4 * histogram.size
    tags += [_tag("HistResDscr_HistogramBins", h.size, int8, i) for i, h in enumerate(histograms)]
    tags.append(_tag("Header_End", 0, 0xFFFF0008))
    body = b"".join(np.asarray(h, "<u4").tobytes() for h in histograms)
    return b"PQHISTO\0" + b"1.0\0\0\0\0\0" + b"".join(tags) + body


def test_phu_round_trip(tmp_path, histograms):
    _, decay, irf = histograms
    path = tmp_path / "decay.phu"
    path.write_bytes(minimal_phu([decay, irf], 16e-12))
    record = read_phu(path)
    assert record.counts.shape == (2, decay.size)
    assert np.array_equal(record.curve(0), decay) and np.array_equal(record.curve(1), irf)
    assert record.resolution_ns == pytest.approx(0.016)
    assert record.time_ns[1] == pytest.approx(0.016)


@pytest.mark.parametrize("case", ["truncated", "not_phu", "zero"])
def test_bad_phu_names_the_file(tmp_path, histograms, case):
    _, decay, _ = histograms
    good = minimal_phu([decay], 16e-12)
    content = {"truncated": good[: len(good) - 100], "not_phu": b"PQTTTR\0\0" + good[8:],
               "zero": minimal_phu([0 * decay], 16e-12)}[case]
    path = tmp_path / f"bad_{case}.phu"
    path.write_bytes(content)
    with pytest.raises(RawDataError, match=f"bad_{case}.phu"):
        read_phu(path)
