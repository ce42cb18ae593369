"""pyproject.toml pins and envs/*.yaml (for --use-conda) must agree exactly."""

from __future__ import annotations

import tomllib

import yaml


def _pins(requirements):
    return dict(req.split("==") for req in requirements if "==" in req)


def test_conda_envs_match_pyproject_pins(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pins = _pins(project["dependencies"])
    assert all("==" in dep for dep in project["dependencies"]), "every dependency is pinned exactly"
    env_files = sorted((root / "envs").glob("*.yaml"))
    assert env_files
    for env_file in env_files:
        env = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
        assert _pins(pip) == pins, f"{env_file.name} disagrees with pyproject.toml"
        assert "python=3.11" in env["dependencies"]


def test_every_rule_uses_the_conda_env(root):
    for smk in (root / "rules").glob("*.smk"):
        text = smk.read_text()
        assert text.count("script:") == text.count('"../envs/pipeline.yaml"'), smk.name
