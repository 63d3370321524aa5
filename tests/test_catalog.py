"""The Service Catalog templates: a launch role derived from the stack, the catalog, the sandbox."""

import json
from pathlib import Path

import pytest

from templates_src import catalog
from templates_src.configurations import CONFIGURATIONS
from tools import lint

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
CATALOG_TEMPLATES = ["catalog.json", "catalog-launch-role.json", "metaflow-sandbox.json"]


def policy_statements(template: dict) -> list[dict]:
    role = catalog.launch_role_template(template).to_dict()["Resources"]["LaunchRole"]
    return json.loads(json.dumps(role["Properties"]["Policies"][0]["PolicyDocument"]))["Statement"]


def actions(statements: list[dict]) -> set[str]:
    return {action for statement in statements for action in statement["Action"]}


@pytest.mark.parametrize("name", CATALOG_TEMPLATES)
def test_cfn_lint_reports_nothing(name):
    assert lint.cfn_lint(GENERATED / name) == []


def test_every_resource_type_of_the_stack_has_launch_permissions(template):
    missing = [kind for kind in catalog.resource_types(template) if kind not in catalog.ACTIONS]
    assert not missing, f"add rows to catalog.ACTIONS for {missing}"


def test_launch_role_holds_exactly_the_actions_of_the_types_present(template):
    granted = actions(policy_statements(template))
    expected = {
        action.JSONrepr()
        for kind in catalog.resource_types(template)
        for action in catalog.ACTIONS[kind]
    }
    stack_actions = {a.JSONrepr() for a in catalog._STACK_ACTIONS + catalog._TEMPLATE_ACTIONS}
    assert granted == expected | stack_actions | {"s3:GetObject"}
    assert not any(action.endswith("*") for action in granted)


def test_a_type_leaving_the_template_takes_its_permissions_along():
    only_bucket = {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}
    granted = actions(policy_statements(only_bucket))
    assert "s3:CreateBucket" in granted
    assert not {a for a in granted if a.split(":")[0] in {"ec2", "iam", "rds", "ecs"}}


def test_an_unknown_resource_type_fails_the_build_by_name():
    template = {"Resources": {"X": {"Type": "AWS::Example::Thing"}}}
    with pytest.raises(ValueError, match="AWS::Example::Thing"):
        catalog.launch_role_template(template)


def test_iam_rights_reach_only_what_service_catalog_launched(template):
    for statement in policy_statements(template):
        iam_actions = [a for a in statement["Action"] if a.startswith("iam:")]
        if not iam_actions:
            continue
        resources = json.dumps(statement["Resource"])
        if iam_actions == ["iam:CreateServiceLinkedRole"]:
            assert "role/aws-service-role/*" in resources
        else:
            assert statement["Resource"] != ["*"]
            assert all("/SC-*" in r["Fn::Sub"] for r in statement["Resource"])


def test_bucket_rights_reach_only_buckets_of_launched_stacks(template):
    writes = [
        statement
        for statement in policy_statements(template)
        if any(a.startswith("s3:") and a != "s3:GetObject" for a in statement["Action"])
    ]
    assert writes
    for statement in writes:
        assert statement["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::sc-*"}]


def test_only_service_catalog_assumes_the_launch_role(template):
    role = catalog.launch_role_template(template).to_dict()["Resources"]["LaunchRole"]
    trust = json.loads(json.dumps(role["Properties"]["AssumeRolePolicyDocument"]))
    assert [s["Principal"] for s in trust["Statement"]] == [
        {"Service": ["servicecatalog.amazonaws.com"]}
    ]


def test_catalog_template_constrains_launches_to_the_launch_role():
    body = json.loads(json.dumps(catalog.catalog_template().to_dict()))
    resources = body["Resources"]
    assert {r["Type"] for r in resources.values()} == {
        "AWS::ServiceCatalog::Portfolio",
        "AWS::ServiceCatalog::CloudFormationProduct",
        "AWS::ServiceCatalog::PortfolioProductAssociation",
        "AWS::ServiceCatalog::PortfolioPrincipalAssociation",
        "AWS::ServiceCatalog::LaunchRoleConstraint",
    }
    constraint = resources["LaunchConstraint"]
    assert constraint["DependsOn"] == "ProductInPortfolio"
    assert constraint["Properties"]["LocalRoleName"] == {"Ref": "LaunchRoleName"}
    assert body["Parameters"]["LaunchRoleName"]["Default"] == catalog.LAUNCH_ROLE_NAME


def test_sandbox_caps_cover_the_sandbox_configuration():
    assert CONFIGURATIONS["sandbox"].items() <= catalog.SANDBOX_CAPS.items()
    assert CONFIGURATIONS["sandbox"]["EnableNotebook"] == "true"
    assert int(catalog.SANDBOX_CAPS["MaxVCPUs"]) <= 16


@pytest.mark.parametrize("name", sorted(catalog.SANDBOX_CAPS))
def test_a_sandbox_user_cannot_raise_a_cap(template, name):
    sandbox = catalog.sandbox_template(template)
    parameter = sandbox["Parameters"][name]
    value = catalog.SANDBOX_CAPS[name]
    assert parameter["Default"] == value
    if parameter["Type"] == "Number":
        assert parameter["MaxValue"] == int(value)
        assert parameter["MinValue"] <= int(value)
    else:
        assert parameter["AllowedValues"] == value.split(",")


def test_sandbox_differs_from_the_stack_only_in_its_caps(template):
    sandbox = catalog.sandbox_template(template)
    assert sandbox["Resources"] == template["Resources"]
    assert sandbox["Outputs"] == template["Outputs"]
    changed = {
        k for k in template["Parameters"] if sandbox["Parameters"][k] != template["Parameters"][k]
    }
    assert changed == set(catalog.SANDBOX_CAPS)
