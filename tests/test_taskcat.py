""".taskcat.yml, as taskcat itself loads it: one test per parameter file deploying that file's
values, in several regions including GovCloud, and `taskcat lint` passes. All offline.

taskcat runs in .venv-taskcat (its pins would hold back .venv), so it is driven by subprocess.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from tools import lint

ROOT = Path(__file__).resolve().parent.parent
TASKCAT_BIN = ROOT / ".venv-taskcat" / "bin"
RUNNER = ROOT / "tools" / "taskcat_run.py"
METAFLOW_TEMPLATE = "generated/metaflow.json"
PARAM_FILES = sorted((ROOT / "generated" / "params").glob("*.json"))
# taskcat's pseudo-parameters (taskcat._template_params.ParamGen); anything else in $[...] would
# reach CloudFormation verbatim.
PSEUDO = re.compile(
    r"\$\[taskcat_(genaz_\d|getsingleaz_\d+|autobucket|project_name|test_name|current_region"
    r"|random-string|random-numbers|genuuid|genpass_\d+[ASN]?|ssm_[\w/.-]+)\]"
)
# Set on top of every parameter file, so that taskcat can delete what it deployed.
TEARDOWN = {"DatabaseDeletionProtection": "false"}
GENERATED_PARAMETER_TYPES = {
    "AWS::EC2::AvailabilityZone::Name",
    "List<AWS::EC2::AvailabilityZone::Name>",
}


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """No AWS credentials and no user taskcat config, whatever the machine has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TASKCAT_"))}
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        # No instance role to find here; without this botocore waits for the metadata service.
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


def in_taskcat_venv(args: list, home: Path, cwd: Path = ROOT, **env: str):
    assert (TASKCAT_BIN / "python").exists(), "no .venv-taskcat: `make test` creates it"
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=isolated_env(home, **env),
    )


def load_template(path: Path) -> dict:
    return json.loads(path.read_text()) if path.suffix == ".json" else cfn_yaml.load(str(path))


def parameter_file(path: Path) -> dict[str, str]:
    return {row["ParameterKey"]: row["ParameterValue"] for row in json.loads(path.read_text())}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("home")
    result = in_taskcat_venv([TASKCAT_BIN / "python", RUNNER, "matrix"], home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_taskcat_loader_rejects_what_its_schema_does_not_know(tmp_path):
    config = (ROOT / ".taskcat.yml").read_text().replace("    parameters:", "    paramters:", 1)
    (tmp_path / ".taskcat.yml").write_text(config)
    result = in_taskcat_venv(
        [TASKCAT_BIN / "python", RUNNER, "matrix", "--config", tmp_path / ".taskcat.yml"], tmp_path
    )
    assert result.returncode != 0 and "paramters" in result.stderr, result.stderr


def test_every_parameter_file_has_a_test_and_no_test_lacks_one(matrix):
    files = {p.stem for p in PARAM_FILES}
    assert not files - set(matrix), f"parameter files without a taskcat test: {files - set(matrix)}"
    assert not set(matrix) - files, f"taskcat tests without a parameter file: {set(matrix) - files}"


@pytest.mark.parametrize("params", PARAM_FILES, ids=lambda p: p.stem)
def test_taskcat_test_deploys_its_parameter_file(params, matrix):
    test = matrix.get(params.stem)
    assert test, f"no taskcat test named {params.stem} in .taskcat.yml"
    template = load_template(ROOT / test["template"])
    values = parameter_file(params)
    assert set(values) <= set(load_template(ROOT / METAFLOW_TEMPLATE)["Parameters"])
    # taskcat drops keys its template lacks without a word, and fails on a parameter left empty.
    declared = template.get("Parameters", {})
    assert set(test["parameters"]) <= set(declared)
    assert {k for k, p in declared.items() if "Default" not in p} <= set(test["parameters"])
    expected = values | TEARDOWN
    if test["template"] == METAFLOW_TEMPLATE:
        assert test["parameters"] == expected
        return
    # A fixture deploys the Metaflow template as its one nested stack with the same keys. A value
    # is given literally, passed on from the fixture's own parameters, or made by the fixture (the
    # ids of what it creates, in place of the file's examples).
    nested = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::Stack"
    ]
    assert len(nested) == 1 and METAFLOW_TEMPLATE in json.dumps(nested[0]["TemplateURL"])
    given = nested[0].get("Parameters", {})
    assert set(given) == set(expected)
    for key, value in given.items():
        if isinstance(value, str):
            assert value == expected[key], key
        elif set(value) == {"Ref"} and value["Ref"] in declared:
            assert test["parameters"].get(value["Ref"]) == expected[key], key


def test_every_test_runs_in_several_regions_and_govcloud(matrix):
    def govcloud(test):
        return [r for r in test["regions"] if r.startswith("us-gov-")]

    # Isolated stacks cannot share a region (below), so one isolated test covers GovCloud for all.
    isolated_in_govcloud = any(
        govcloud(t) for t in matrix.values() if t["parameters"].get("NetworkMode") == "isolated"
    )
    for name, test in matrix.items():
        commercial = [r for r in test["regions"] if not r.startswith("us-gov-")]
        assert len(commercial) >= 2, f"{name}: {test['regions']}"
        isolated = test["parameters"].get("NetworkMode") == "isolated"
        assert govcloud(test) or (isolated and isolated_in_govcloud), f"{name}: no GovCloud"
        # A GovCloud account is a separate account: its region needs its own profile.
        assert all(test["auth"].get(r, "default") != "default" for r in govcloud(test)), name


def test_isolated_stacks_never_share_a_region(matrix):
    # An isolated stack creates an ECR pull-through cache rule; its prefix is fixed and unique per
    # account and region, so a second isolated stack in the same region would fail to create.
    seen: dict[str, str] = {}
    for name, test in matrix.items():
        if test["parameters"].get("NetworkMode") == "isolated":
            for region in test["regions"]:
                assert region not in seen, f"{name} and {seen[region]} both in {region}"
                seen[region] = name


def test_values_taskcat_generates_are_left_to_taskcat(matrix):
    for name, test in matrix.items():
        declared = load_template(ROOT / test["template"]).get("Parameters", {})
        for key, value in test["parameters"].items():
            value = str(value)
            for token in re.findall(r"\$\[[^\]]*\]", value):
                assert PSEUDO.fullmatch(token), f"{name}.{key}: {token} is not taskcat's"
            assert not re.search(r"\b[a-z]{2}(-gov)?-[a-z]+-\d[a-z]\b|\b\d{12}\b|tcat-", value), (
                f"{name}.{key}: {value} hard-codes what taskcat generates"
            )
            if declared[key]["Type"] in GENERATED_PARAMETER_TYPES:
                assert re.fullmatch(r"\$\[taskcat_(genaz_\d|getsingleaz_\d+)\]", value), key


def test_fixture_templates_lint_clean_at_every_level(matrix):
    fixtures = sorted({t["template"] for t in matrix.values()} - {METAFLOW_TEMPLATE})
    assert fixtures, "existing-vpc needs a fixture that creates the VPC"
    assert lint.cfn_lint(*(ROOT / f for f in fixtures)) == []


def test_taskcat_lint_passes(matrix, tmp_path):
    result = in_taskcat_venv([TASKCAT_BIN / "python", RUNNER, "lint"], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for template in {t["template"] for t in matrix.values()}:
        assert f"Linting passed for file: {ROOT / template}" in output, output


def test_taskcat_lint_fails_on_a_broken_template(tmp_path):
    (tmp_path / ".taskcat.yml").write_text(
        "project: {name: broken, regions: [us-east-1]}\ntests: {t: {template: t.yaml}}\n"
    )
    (tmp_path / "t.yaml").write_text(
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {DelaySeconds: soon}\n"
    )
    config = tmp_path / ".taskcat.yml"
    result = in_taskcat_venv([TASKCAT_BIN / "python", RUNNER, "lint", "--config", config], tmp_path)
    assert result.returncode == 1 and "'soon' is not of type" in result.stderr, result.stderr


def test_make_taskcat_stops_in_one_line_without_credentials(tmp_path):
    result = in_taskcat_venv([TASKCAT_BIN / "python", RUNNER, "run"], tmp_path)
    assert result.returncode == 2 and not result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("make taskcat: no AWS credentials"), lines
    assert "profile default" in lines[0] and "profile metaflow-govcloud" in lines[0]


def test_make_taskcat_names_the_missing_govcloud_profile_and_the_way_around_it(matrix, tmp_path):
    result = in_taskcat_venv(
        [TASKCAT_BIN / "python", RUNNER, "run"],
        tmp_path,
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="example",
    )
    assert result.returncode == 2 and not result.stdout
    (line,) = result.stderr.splitlines()
    regions = sorted({r for t in matrix.values() for r in t["regions"]})
    commercial = [r for r in regions if not r.startswith("us-gov-")]
    govcloud = ", ".join(r for r in regions if r.startswith("us-gov-"))
    assert f"profile metaflow-govcloud ({govcloud})" in line and "profile default" not in line
    assert f"TASKCAT_ARGS='--regions {','.join(commercial)}'" in line, line
