"""PANalytical / Malvern Panalytical ``.xrdml`` powder patterns (XML), read into an :class:`XYPattern`.

Format: XML written by PANalytical Data Collector (X'Pert PRO, Empyrean, Aeris), schema
``http://www.xrdml.com/XRDMeasurement/<version>`` (1.0-2.x; the schema version is the namespace,
kept as ``header["schema"]``). One ``xrdMeasurements`` root holds ``xrdMeasurement`` elements;
each has ``usedWavelength`` (``kAlpha1``, ``kAlpha2``, ``kBeta`` in Angstrom,
``ratioKAlpha2KAlpha1``; attribute ``intended``), ``incidentBeamPath/xRayTube/anodeMaterial`` and
one or more ``scan`` elements (``scanAxis`` ``Gonio``, ``2Theta``, ``2Theta-Omega``, ``Omega``...)
whose ``dataPoints`` hold

* ``positions`` per axis: ``startPosition``/``endPosition`` (the points are evenly spaced from start
  to end inclusive), or ``listPositions`` (one value per point), or ``commonPosition`` (a fixed axis);
* ``commonCountingTime`` or ``countingTimes`` (s per point);
* the values, either ``intensities`` (schema 1.x and current files: already corrected for the beam
  attenuator, taken as they are) or ``counts`` (schema 2.x raw counts, "not yet corrected for beam
  attenuator"): multiplied here by ``beamAttenuationFactors`` / ``commonBeamAttenuationFactor``,
  as GSAS-II, xylib and xrayutilities do. A ``unit`` of counts per second is converted to counts
  with the counting time, since the analysis weights points by counting statistics.

Public sources: the XRDML schema files at www.xrdml.com (XRDMeasurement.xsd, versions 1.0-2.1), and
the real exports tested here (tests/data/real/, from FAIRmat-NFDI/nomad-measurements, Apache-2.0):
``XRD-918-16_10.xrdml`` (schema 1.6, Empyrean, Data Collector 5.4, Gonio scan 4.007-69.999 deg,
``intensities``, ``commonCountingTime`` 39.27 s, Cu K-alpha1 1.5405980 A, K-alpha2 1.5444260 A, ratio
0.5) and ``m54313_om2th_10.xrdml`` (schema 2.1, X'Pert PRO, 2Theta-Omega scan, raw ``counts`` with a
188x attenuation factor on the substrate peak, no XML declaration).

The pattern is returned as :class:`qdanalysis.io.xy.XYPattern` with ``wavelength_source`` "header":
``wavelength_A`` is K-alpha1 (what the pipeline's peak positions refer to); K-alpha2, the ratio,
the counting time and the instrument are kept in ``header``. Refused with a
:class:`~qdanalysis.io.errors.RawDataError` naming the file and element: not XML or not XRDML,
several measurements or scans (area/mesh scans; export one scan), no 2theta scan axis, no or empty
data points, a point count that does not match ``listPositions``/``countingTimes``, non-numeric,
NaN or negative values, no K-alpha1 wavelength, 2theta outside (0, 180) deg.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.xy import XYPattern

_ROOT = re.compile(r"^\{(http://www\.xrdml\.com/XRDMeasurement/([0-9.]+))\}xrdMeasurements$")
_PER_SECOND = re.compile(r"(per\s*second|/\s*s\b|cps)", re.IGNORECASE)


def _parse(path: Path) -> ET.Element:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RawDataError(path, None, "file not found") from None
    if not raw.strip():
        raise RawDataError(path, None, "file is empty")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as err:
        line = err.position[0] if getattr(err, "position", None) else None
        raise RawDataError(path, f"line {line}" if line else None,
                           f"not well-formed XML ({err.msg if hasattr(err, 'msg') else err})") from None


def _numbers(path, element: ET.Element, what: str) -> np.ndarray:
    tokens = (element.text or "").split()
    try:
        values = np.array([float(token) for token in tokens], dtype=float)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise RawDataError(path, f"<{what}>", f"non-numeric value {bad!r}") from None
    if not np.all(np.isfinite(values)):
        raise RawDataError(path, f"<{what}>",
                           f"value is not finite ({tokens[int(np.flatnonzero(~np.isfinite(values))[0])]})")
    return values


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _one(path, parent: ET.Element, tag: str, ns: dict, where: str) -> ET.Element:
    found = parent.findall(f"x:{tag}", ns)
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        hint = " (an area/mesh or repeated scan; export one scan per file)" if found else ""
        raise RawDataError(path, where, f"{what} <{tag}> element(s); expected one{hint}")
    return found[0]


def _wavelength(path, measurement: ET.Element, ns: dict) -> tuple[float, dict[str, str]]:
    used = measurement.find("x:usedWavelength", ns)
    alpha1 = used.find("x:kAlpha1", ns) if used is not None else None
    if alpha1 is None or not (alpha1.text or "").strip():
        raise RawDataError(path, "<usedWavelength>", "no <kAlpha1> wavelength")
    scale = {"angstrom": 1.0, "nm": 10.0}.get((alpha1.get("unit") or "Angstrom").lower())
    if scale is None:
        raise RawDataError(path, "<kAlpha1>", f"unknown wavelength unit {alpha1.get('unit')!r}")
    value = float(_numbers(path, alpha1, "kAlpha1")[0]) * scale
    if not 0.1 < value < 5.0:
        raise RawDataError(path, "<kAlpha1>", f"wavelength {value} is not in angstrom (expected 0.1-5)")
    header = {"kalpha1": f"{value:g}", "wavelength_intended": used.get("intended", "")}
    for tag, key in (("kAlpha2", "kalpha2"), ("kBeta", "kbeta"), ("ratioKAlpha2KAlpha1", "ratio_kalpha2_kalpha1")):
        element = used.find(f"x:{tag}", ns)
        if element is not None and (element.text or "").strip():
            header[key] = element.text.strip()
    return value, header


def _two_theta(path, data_points: ET.Element, ns: dict, n_points: int, scan_axis: str) -> np.ndarray:
    axis = next((p for p in data_points.findall("x:positions", ns) if p.get("axis") == "2Theta"), None)
    if axis is None:
        raise RawDataError(path, "<dataPoints>", "no 2Theta <positions>")
    if (axis.get("unit") or "deg") != "deg":
        raise RawDataError(path, "<positions axis=\"2Theta\">", f"unit {axis.get('unit')!r}; expected deg")
    listed = axis.find("x:listPositions", ns)
    if listed is not None:
        values = _numbers(path, listed, "listPositions")
        if values.size != n_points:
            raise RawDataError(path, "<listPositions>", f"{values.size} positions for {n_points} data points")
        return values
    start, end = axis.find("x:startPosition", ns), axis.find("x:endPosition", ns)
    if start is None or end is None:
        raise RawDataError(path, "<positions axis=\"2Theta\">", f"2Theta is fixed (commonPosition) in a "
                                                              f"{scan_axis!r} scan: not a 2theta scan")
    return np.linspace(float(_numbers(path, start, "startPosition")[0]),
                       float(_numbers(path, end, "endPosition")[0]), n_points)


def _per_point(path, data_points: ET.Element, ns: dict, common: str, listed: str, n_points: int,
               default: float | None) -> np.ndarray | None:
    element = data_points.find(f"x:{common}", ns)
    if element is not None:
        return np.full(n_points, float(_numbers(path, element, common)[0]))
    element = data_points.find(f"x:{listed}", ns)
    if element is not None:
        values = _numbers(path, element, listed)
        if values.size != n_points:
            raise RawDataError(path, f"<{listed}>", f"{values.size} values for {n_points} data points")
        return values
    return None if default is None else np.full(n_points, default)


def read_xrdml(path: str | Path, *, min_points: int = 10) -> XYPattern:
    """Read one 2theta scan from an ``.xrdml`` file (see the module docstring).

    ``counts`` in counts per second are converted to counts with the counting time; raw ``counts``
    (schema 2.x) are multiplied by the beam-attenuation factors; ``intensities`` are taken as they are.

    Parameters
    ----------
    path : str or Path
        The XRDML file (one ``xrdMeasurement`` with one ``scan``).
    min_points : int, optional
        Fewest data points accepted before the file is taken for truncated. Default is 10.

    Returns
    -------
    XYPattern
        2theta (deg, ascending) and counts, the K-alpha1 wavelength from the file (angstrom,
        ``wavelength_source="header"``) and a header with schema, scan axis, values element and unit,
        scan status, K-alpha2/K-beta/ratio where given, and counting time, anode and sample if present.

    Raises
    ------
    RawDataError
        If the XML is unreadable or not XRDML, has no or several measurements or scans, no or an
        implausible K-alpha1 wavelength (not 0.1-5 angstrom), no data points, negative values, fewer
        than ``min_points`` points, no 2theta positions in deg (or a fixed 2theta), a position or
        counting-time list of the wrong length, a per-second unit without counting time, or a 2theta
        axis outside (0, 180) deg or not strictly monotonic.
    """
    path = Path(path)
    root = _parse(path)
    match = _ROOT.match(root.tag)
    if not match:
        raise RawDataError(path, "root element", f"not an XRDML file (root element {root.tag!r})")
    ns = {"x": match.group(1)}
    measurement = _one(path, root, "xrdMeasurement", ns, "<xrdMeasurements>")
    wavelength, header = _wavelength(path, measurement, ns)
    scan = _one(path, measurement, "scan", ns, "<xrdMeasurement>")
    scan_axis = scan.get("scanAxis", "")
    data_points = _one(path, scan, "dataPoints", ns, "<scan>")
    values_element = data_points.find("x:intensities", ns)
    kind = "intensities"
    if values_element is None:
        values_element, kind = data_points.find("x:counts", ns), "counts"
    if values_element is None or not (values_element.text or "").strip():
        raise RawDataError(path, "<dataPoints>", "no data points (no or empty <intensities>/<counts>)")
    values = _numbers(path, values_element, kind)
    if np.any(values < 0):
        raise RawDataError(path, f"<{kind}>", f"negative {kind} {values[values < 0][0]:g}")
    n_points = values.size
    if n_points < min_points:
        raise RawDataError(path, f"<{kind}>", f"only {n_points} data points (truncated file?)")
    two_theta = _two_theta(path, data_points, ns, n_points, scan_axis)
    time_s = _per_point(path, data_points, ns, "commonCountingTime", "countingTimes", n_points, None)
    unit = values_element.get("unit", "counts")
    if _PER_SECOND.search(unit):
        if time_s is None:
            raise RawDataError(path, f"<{kind}>", f"unit {unit!r} but no counting time to convert to counts")
        values = values * time_s
    if kind == "counts":  # raw counts: apply the attenuator factors (intensities already include them)
        values = values * _per_point(path, data_points, ns, "commonBeamAttenuationFactor",
                                     "beamAttenuationFactors", n_points, 1.0)
    if np.any((two_theta <= 0) | (two_theta >= 180)):
        raise RawDataError(path, "<positions axis=\"2Theta\">", "2theta outside (0, 180) deg")
    steps = np.diff(two_theta)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise RawDataError(path, "<positions axis=\"2Theta\">", "2theta axis is not strictly monotonic")
    order = np.argsort(two_theta)
    anode = measurement.find("x:incidentBeamPath/x:xRayTube/x:anodeMaterial", ns)
    sample = root.find("x:sample/x:id", ns)
    header.update({"schema": match.group(2), "scan_axis": scan_axis, "values_element": kind,
                   "values_unit": unit, "scan_status": scan.get("status", "")})
    if time_s is not None:
        header["counting_time_s"] = f"{float(np.median(time_s)):g}"
    if anode is not None and anode.text:
        header["anode"] = anode.text.strip()
    if sample is not None and sample.text:
        header["sample"] = sample.text.strip()
    return XYPattern(path=str(path), two_theta_deg=two_theta[order], counts=values[order],
                     wavelength_A=wavelength, wavelength_source="header", header=header)


def format_xrdml(two_theta_start_deg: float, two_theta_end_deg: float, counts: np.ndarray, *,
                 counting_time_s: float = 1.0, kalpha1_A: float = 1.5405980, kalpha2_A: float = 1.5444260,
                 ratio_kalpha2_kalpha1: float = 0.5, sample_id: str = "", anode: str = "Cu") -> str:
    """Render a Gonio scan as an Empyrean / Data Collector ``.xrdml`` (schema 1.6 layout, ``intensities``).

    The element order, attributes and number formats follow ``XRD-918-16_10.xrdml`` (see the module
    docstring); instrument-specific optics are left out, as optional in the schema. Omega runs from
    half the 2theta start to half its end.

    Parameters
    ----------
    two_theta_start_deg, two_theta_end_deg : float
        First and last 2theta, degrees (points evenly spaced in between).
    counts : array-like, shape (n,)
        Counts per point, written rounded to integers.
    counting_time_s : float, optional
        Counting time per point, s. Default is 1.0.
    kalpha1_A, kalpha2_A : float, optional
        K-alpha1 and K-alpha2 wavelengths, angstrom. Defaults are 1.5405980 and 1.5444260 (Cu).
    ratio_kalpha2_kalpha1 : float, optional
        Intensity ratio K-alpha2 / K-alpha1. Default is 0.5.
    sample_id : str, optional
        Sample id and name. Default is ``""``.
    anode : str, optional
        Anode material of the tube. Default is ``"Cu"``.

    Returns
    -------
    str
        The XML text, CRLF line ends.
    """
    counts = np.asarray(counts)
    omega = (two_theta_start_deg / 2, two_theta_end_deg / 2)
    intensities = " ".join(f"{c:.0f}" for c in counts)
    ns = "http://www.xrdml.com/XRDMeasurement/1.6"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\r\n'
        f'<xrdMeasurements xmlns="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{ns} {ns}/XRDMeasurement.xsd" status="Completed">\r\n'
        f'\t<sample type="To be analyzed">\r\n\t\t<id>{sample_id}</id>\r\n\t\t<name>{sample_id}</name>\r\n'
        f'\t\t<preparedBy></preparedBy>\r\n\t</sample>\r\n'
        f'\t<xrdMeasurement measurementType="Scan" status="Completed" sampleMode="Reflection">\r\n'
        f'\t\t<usedWavelength intended="K-Alpha 1">\r\n'
        f'\t\t\t<kAlpha1 unit="Angstrom">{kalpha1_A:.7f}</kAlpha1>\r\n'
        f'\t\t\t<kAlpha2 unit="Angstrom">{kalpha2_A:.7f}</kAlpha2>\r\n'
        f'\t\t\t<kBeta unit="Angstrom">1.3922500</kBeta>\r\n'
        f'\t\t\t<ratioKAlpha2KAlpha1>{ratio_kalpha2_kalpha1:.4f}</ratioKAlpha2KAlpha1>\r\n'
        f'\t\t</usedWavelength>\r\n'
        f'\t\t<incidentBeamPath>\r\n\t\t\t<radius unit="mm">240.00</radius>\r\n'
        f'\t\t\t<xRayTube id="1010048" name="Empyrean {anode} LFF HR">\r\n'
        f'\t\t\t\t<tension unit="kV">45.0</tension>\r\n\t\t\t\t<current unit="mA">40.0</current>\r\n'
        f'\t\t\t\t<anodeMaterial>{anode}</anodeMaterial>\r\n\t\t\t</xRayTube>\r\n\t\t</incidentBeamPath>\r\n'
        f'\t\t<scan appendNumber="0" mode="Continuous" scanAxis="Gonio" status="Completed">\r\n'
        f'\t\t\t<dataPoints>\r\n'
        f'\t\t\t\t<positions axis="2Theta" unit="deg">\r\n'
        f'\t\t\t\t\t<startPosition>{two_theta_start_deg:.8f}</startPosition>\r\n'
        f'\t\t\t\t\t<endPosition>{two_theta_end_deg:.8f}</endPosition>\r\n\t\t\t\t</positions>\r\n'
        f'\t\t\t\t<positions axis="Omega" unit="deg">\r\n'
        f'\t\t\t\t\t<startPosition>{omega[0]:.8f}</startPosition>\r\n'
        f'\t\t\t\t\t<endPosition>{omega[1]:.8f}</endPosition>\r\n\t\t\t\t</positions>\r\n'
        f'\t\t\t\t<commonCountingTime unit="seconds">{counting_time_s:.3f}</commonCountingTime>\r\n'
        f'\t\t\t\t<intensities unit="counts">{intensities}</intensities>\r\n'
        f'\t\t\t</dataPoints>\r\n\t\t</scan>\r\n\t</xrdMeasurement>\r\n</xrdMeasurements>\r\n'
    )
