"""The pipeline is MIT-licensed (LICENSE, pyproject.toml); every pinned dependency must carry a licence
that lets it be combined with MIT code and redistributed without imposing copyleft on it."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

from conftest import ROOT

# SPDX identifiers and trove classifiers of permissive licences compatible with MIT.
# MIT-CMU (Pillow's historical PIL licence) is the MIT-style CMU permission notice: permissive.
PERMISSIVE = {"MIT", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "ISC", "Apache-2.0", "PSF-2.0", "Zlib",
              "CC0-1.0", "Python-2.0", "MPL-2.0", "MIT-CMU"}
PERMISSIVE_CLASSIFIERS = ("MIT License", "BSD License", "Python Software Foundation License",
                          "Apache Software License", "ISC License")
COPYLEFT = re.compile(r"\b(A?GPL|LGPL|GNU General Public)\b", re.IGNORECASE)
# Packages whose distribution metadata names a copyleft licence but of which only a permissively
# licensed part is loaded; each entry says which part, and a test checks nothing else is imported.
PARTLY_PERMISSIVE = {
    "ncempy": "only ncempy/io/dm.py is loaded (qdanalysis.io.digital_micrograph._dm_module); ncempy/io is "
              "dual-licensed GPLv3/MIT (ncempy/io/LICENSE), the rest of ncempy is GPL-3 and never imported",
}


def _pinned() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return sorted({re.match(r"[A-Za-z0-9._-]+", r).group(0) for r in requirements})


def licence_of(name: str) -> tuple[set[str], list[str], str]:
    metadata = importlib.metadata.metadata(name)
    expression = metadata.get("License-Expression") or ""
    spdx = set(re.findall(r"[A-Za-z0-9.+-]+", expression)) - {"AND", "OR", "WITH"}
    classifiers = [c for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]
    return spdx, classifiers, (metadata.get("License") or "")[:200]


def test_project_declares_mit_and_ships_the_licence_text():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "preferred-citation" in (ROOT / "CITATION.cff").read_text()


def test_every_pinned_dependency_is_permissively_licensed():
    for name in _pinned():
        if name in PARTLY_PERMISSIVE:
            continue
        spdx, classifiers, text = licence_of(name)
        permissive = (spdx and spdx <= PERMISSIVE) or any(c.endswith(PERMISSIVE_CLASSIFIERS) for c in classifiers) \
            or re.match(r"^(MIT|BSD|BSD-3-Clause|BSD-2-Clause|Apache)", text)
        assert permissive, f"{name}: licence {spdx or classifiers or text!r} is not a known permissive licence"
        assert not COPYLEFT.search(" ".join([*spdx, *classifiers, text])), f"{name}: copyleft licence"


def test_partly_permissive_packages_are_loaded_only_through_their_permissive_part():
    import subprocess
    import sys

    code = ("import sys; from qdanalysis.io import digital_micrograph as dm; dm._dm_module(); "
            "print(sorted(m for m in sys.modules if m.startswith('ncempy')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'ncempy'" not in loaded and "ncempy." not in loaded.replace("ncempy.io.dm", ""), loaded
