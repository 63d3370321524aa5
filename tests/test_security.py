"""The security and reliability bar (issue 8): nothing found, nothing lost."""

import json
from pathlib import Path

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from tools import lint
from tools.cfn_eval import deployed, read_parameter_file

STATEFUL = {
    "AWS::S3::Bucket": "Retain",
    "AWS::RDS::DBInstance": "Snapshot",
    "AWS::DynamoDB::Table": "Retain",
    "AWS::KMS::Key": "Retain",
    "AWS::SecretsManager::Secret": "Retain",
    "AWS::Logs::LogGroup": "Retain",
}
# Every skipped checkov check, by resource. Adding one is a decision; this list makes it visible.
SKIPS = {
    ("DatastoreBucket", "CKV_AWS_18"),
    ("Database", "CKV_AWS_161"),
    ("Database", "CKV_AWS_157"),
    ("Database", "CKV_AWS_118"),
    ("MetadataLoadBalancer", "CKV_AWS_91"),
    ("MetadataServiceLogs", "CKV_AWS_158"),
    ("StepFunctionsLogs", "CKV_AWS_158"),
    ("StepFunctionsTable", "CKV_AWS_119"),
    ("Notebook", "CKV_AWS_187"),
    ("Cluster", "CKV_AWS_65"),
}
# Which role may be handed to which service, by whom: the only PassRole grants the stack makes.
PASSES = {
    ("BatchJobRole", "batch.amazonaws.com"),
    ("FargateExecutionRole", "batch.amazonaws.com"),
    ("StepFunctionsRole", "states.amazonaws.com"),
    ("EventBridgeRole", "events.amazonaws.com"),
}


def variants(template):
    """The template as CloudFormation deploys it for each parameter file (conditions applied)."""
    return {
        (p.stem if p else "none"): deployed(template, read_parameter_file(p) if p else None)
        for p in lint.parameter_files()
    }


def test_skips_are_exactly_the_reviewed_ones(template):
    listed = lint.skips(template)
    assert {(resource, check) for resource, check, _ in listed} == SKIPS
    assert all(len(reason) > 20 for *_, reason in listed)


def test_lint_reports_no_finding_and_no_failed_check(monkeypatch):
    # tools/lint.py is `make lint`: cfn-lint and checkov, every template, every parameter file.
    assert lint.CHECKOV.exists(), "no .venv-checkov: `make test` creates it"
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert lint.main() == 0


def test_stateful_resources_survive_delete_and_replacement(template):
    stateful = {n: r for n, r in template["Resources"].items() if r["Type"] in STATEFUL}
    assert {"DatastoreBucket", "Database", "StepFunctionsTable", "CustomerKey"} <= set(stateful)
    for name, resource in stateful.items():
        policy = STATEFUL[resource["Type"]]
        assert resource.get("DeletionPolicy") == policy, name
        assert resource.get("UpdateReplacePolicy") == policy, name


def _parameter_driven(template) -> set[str]:
    """Parameters, conditions over them, and resources a parameter can replace or remove."""
    params = set(template["Parameters"])
    conditions = set()
    changed = True
    while changed:
        before = len(conditions)
        conditions |= {
            name
            for name, expr in template.get("Conditions", {}).items()
            if _refs(expr) & (params | conditions)
        }
        changed = len(conditions) != before
    driven = params | conditions
    changed = True
    while changed:
        before = len(driven)
        for name, resource in template["Resources"].items():
            if resource.get("Condition") in driven or _create_only_refs(resource) & driven:
                driven.add(name)
        changed = len(driven) != before
    return driven


def _refs(node) -> set[str]:
    """Every name a value depends on: Ref, GetAtt, Sub variables, Condition and Fn::If names."""
    found = set()
    if isinstance(node, list):
        for item in node:
            found |= _refs(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("Ref", "Condition") and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            elif key == "Fn::If":
                found.add(value[0])
                found |= _refs(value[1:])
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                found |= {v.split(".")[0] for v in _sub_names(text) if v not in variables} | _refs(
                    variables
                )
            else:
                found |= _refs(value)
    return found


def _sub_names(text: str) -> list[str]:
    return [part.split("}")[0] for part in text.split("${")[1:] if not part.startswith("!")]


def _create_only_refs(resource) -> set[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource["Type"]).schema
    properties = resource.get("Properties", {})
    found = set()
    for pointer in schema.get("createOnlyProperties", []):
        name = pointer.split("/")[2]
        if name in properties:
            found |= _refs(properties[name])
    return found


def test_no_parameter_can_replace_stateful_resources(template):
    driven = _parameter_driven(template)
    for name, resource in template["Resources"].items():
        if resource["Type"] in STATEFUL:
            depends = _create_only_refs(resource) & driven
            assert not depends, f"{name}: create-only properties depend on {sorted(depends)}"


def test_walker_sees_a_parameter_in_a_create_only_property(template):
    """The walk above must catch what it guards against."""
    broken = json.loads(json.dumps(template))
    broken["Resources"]["Database"]["Properties"]["KmsKeyId"] = {
        "Fn::If": ["UseKmsKey", "arn", {"Ref": "AWS::NoValue"}]
    }
    assert "UseKmsKey" in _create_only_refs(broken["Resources"]["Database"])
    assert "UseKmsKey" in _parameter_driven(broken)


def _statements(template):
    for label, resolved in variants(template).items():
        for name, resource in resolved["Resources"].items():
            properties = resource.get("Properties", {})
            documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                documents.append(properties["PolicyDocument"])
            for document in documents:
                for statement in document["Statement"]:
                    yield label, name, statement


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def test_no_write_on_everything_where_a_resource_can_be_named(template):
    for label, name, statement in _statements(template):
        assert statement["Effect"] == "Allow"
        if "*" not in _listed(statement["Resource"]):
            continue
        for action in _listed(statement["Action"]):
            service, verb = action.split(":")
            scoped = lint_policies()[service]["Actions"][verb.lower()].get("Resources")
            assert not scoped, f"{label} {name}: {action} on * (it can name a resource)"
            assert "*" not in verb


def lint_policies() -> dict:
    import cfnlint.data.AdditionalSpecs as specs

    return json.loads((Path(specs.__file__).parent / "Policies.json").read_text())


def test_pass_role_only_for_stack_roles_to_the_services_that_need_them(template):
    passes = set()
    for _, name, statement in _statements(template):
        if "iam:PassRole" not in _listed(statement["Action"]):
            continue
        assert _listed(statement["Action"]) == ["iam:PassRole"], name
        service = statement["Condition"]["StringEquals"]["iam:PassedToService"]
        for resource in _listed(statement["Resource"]):
            role = resource["Fn::GetAtt"][0]
            assert template["Resources"][role]["Type"] == "AWS::IAM::Role"
            passes.add((role, service))
    assert passes == PASSES


def test_every_role_carries_the_permissions_boundary(template):
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        assert role["Properties"]["PermissionsBoundary"] == {
            "Fn::If": [
                "HasBoundary",
                {"Ref": "PermissionsBoundaryArn"},
                {"Ref": "AWS::NoValue"},
            ]
        }


def test_customer_key_reaches_every_store(template):
    resolved = deployed(template, {"EncryptionKey": "create"})["Resources"]
    key = {"Fn::GetAtt": ["CustomerKey", "Arn"]}
    assert resolved["CustomerKey"]["Properties"]["EnableKeyRotation"] is True
    bucket_rule = resolved["DatastoreBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ][0]
    assert bucket_rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key
    assert bucket_rule["BucketKeyEnabled"] is True
    assert resolved["StepFunctionsTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == key
    assert resolved["Database"]["Properties"]["MasterUserSecret"]["KmsKeyId"] == key
    for logs in ("MetadataServiceLogs", "StepFunctionsLogs"):
        assert resolved[logs]["Properties"]["KmsKeyId"] == key
    without = deployed(template)["Resources"]
    assert "CustomerKey" not in without
    assert "KmsKeyId" not in without["StepFunctionsLogs"]["Properties"]


def test_tls_is_enforced_on_bucket_and_api(template):
    resources = template["Resources"]
    (deny,) = resources["DatastoreBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert resources["MetadataApi"]["Properties"]["SecurityPolicy"] == "TLS_1_2"


def test_database_bar(template):
    db = template["Resources"]["Database"]["Properties"]
    assert db["PubliclyAccessible"] is False
    assert db["StorageEncrypted"] is True
    assert db["BackupRetentionPeriod"] >= 7
    assert db["AutoMinorVersionUpgrade"] is True
    assert db["ManageMasterUserPassword"] is True
    assert db["DeletionProtection"]["Fn::If"][0] == "DatabaseDeletionProtection"
    assert db["MultiAZ"]["Fn::If"][0] == "DatabaseMultiAz"
    assert template["Parameters"]["DatabaseDeletionProtection"]["Default"] == "true"


def test_api_key_by_default_allow_list_and_access_logs(template):
    assert template["Parameters"]["ApiKeyRequired"]["Default"] == "true"
    resources = deployed(template, {"ApiAllowedCidrs": "203.0.113.0/24", "ApiAccessLogs": "true"})[
        "Resources"
    ]
    (allow,) = resources["MetadataApi"]["Properties"]["Policy"]["Statement"]
    assert allow["Condition"]["IpAddress"]["aws:SourceIp"] == {
        "Fn::Split": [",", {"Ref": "ApiAllowedCidrs"}]
    }
    stage = resources["MetadataApiDeployment"]["Properties"]["StageDescription"]
    assert stage["AccessLogSetting"]["DestinationArn"] == {
        "Fn::GetAtt": ["MetadataServiceLogs", "Arn"]
    }
    assert stage["ThrottlingRateLimit"] > 0
    assert resources["MetadataUsagePlan"]["Properties"]["Throttle"]["RateLimit"] > 0
    default = deployed(template)["Resources"]
    assert "Policy" not in default["MetadataApi"]["Properties"]


def test_hardened_configuration_deploys_with_its_protections(aws):
    from demo.deploy import deploy, load_parameters

    overrides = {
        "EncryptionKey": "create",
        "ApiAllowedCidrs": "203.0.113.0/24",
        "ApiAccessLogs": "true",
        "DatabaseMultiAz": "true",
    }
    outputs = deploy("mf-hardened", load_parameters("default", overrides), session=aws)
    bucket = outputs["MetaflowDataStoreS3Url"].split("/")[2]
    s3 = aws.client("s3")
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    key = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert aws.client("kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    resources = aws.client("cloudformation").list_stack_resources(StackName="mf-hardened")
    (db_id,) = [
        r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["LogicalResourceId"] == "Database"
    ]
    (database,) = aws.client("rds").describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"]
    assert database["MultiAZ"]
    assert database["StorageEncrypted"] and not database["PubliclyAccessible"]
