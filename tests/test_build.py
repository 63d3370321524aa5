"""generated/ is what build.py writes, fits the direct-deploy limit, and lints clean."""

import json
from pathlib import Path

import pytest

import build
from templates_src.configurations import CONFIGURATIONS
from tools import lint

ROOT = Path(__file__).resolve().parent.parent
PARAM_FILES = sorted((ROOT / "generated" / "params").glob("*.json"))


def test_generated_is_fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "GENERATED", tmp_path)
    build.build()
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed_dir = ROOT / "generated"
    committed = {
        p.relative_to(committed_dir): p.read_bytes()
        for p in committed_dir.rglob("*")
        if p.is_file() and p.suffix in {".json", ".yaml"}
    }
    stale = sorted(
        str(p) for p in fresh.keys() | committed.keys() if fresh.get(p) != committed.get(p)
    )
    assert not stale, f"generated/ differs from a fresh build (run make templates): {stale}"


def test_build_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "GENERATED", tmp_path / "a")
    build.build()
    monkeypatch.setattr(build, "GENERATED", tmp_path / "b")
    build.build()
    assert (tmp_path / "a/metaflow.json").read_bytes() == (
        tmp_path / "b/metaflow.json"
    ).read_bytes()


def test_minified_template_fits_direct_deploy_limit():
    size = (ROOT / "generated" / "metaflow.json").stat().st_size
    assert size <= build.DIRECT_DEPLOY_LIMIT, f"{size} bytes"


def test_every_configuration_has_a_parameter_file():
    assert {p.stem for p in PARAM_FILES} == set(CONFIGURATIONS)
    assert {"default", "fargate", "existing-vpc"} <= set(CONFIGURATIONS)


@pytest.mark.parametrize("params", PARAM_FILES, ids=lambda p: p.stem)
def test_parameter_file_names_only_template_parameters(params, template):
    rows = json.loads(params.read_text())
    assert all(set(row) == {"ParameterKey", "ParameterValue"} for row in rows)
    assert {row["ParameterKey"] for row in rows} <= set(template["Parameters"])


@pytest.mark.parametrize("params", [None, *PARAM_FILES], ids=lambda p: p.stem if p else "none")
def test_cfn_lint_reports_nothing(params):
    assert lint.cfn_lint(ROOT / "generated" / "metaflow.json", params=params) == []


def test_readme_lists_every_parameter_and_output_as_they_are(template):
    readme = (ROOT / "README.md").read_text()
    assert build.with_generated_tables(readme, template) == readme, "run make templates"
    table = readme.split(build.TABLE_START, 1)[1].split(build.TABLE_END, 1)[0]
    for name, parameter in template["Parameters"].items():
        assert f"| `{name}` |" in table
        assert parameter["Description"] in table
    outputs = readme.split(build.OUTPUTS_START, 1)[1].split(build.OUTPUTS_END, 1)[0]
    for name in template["Outputs"]:
        assert f"| `{name}` |" in outputs
