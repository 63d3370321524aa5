"""What the composed stack produces: outputs from the contract, secrets kept out of the template,
the notebook's config derived from the same contract."""

import json

from templates_src.contract import FIXED_CONFIG, OUTPUTS, config_keys

UPSTREAM_OUTPUTS = {
    "MetaflowDataStoreS3Url",
    "MetaflowDataToolsS3Url",
    "BatchJobQueueArn",
    "ECSJobRoleForBatchJobs",
    "ServiceUrl",
    "InternalServiceUrl",
    "ApiKeyId",
    "EventBridgeRoleArn",
    "StepFunctionsRoleArn",
    "DDBTableName",
}


def resources_of_type(template: dict, type_name: str) -> dict:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def test_every_contract_row_is_an_output_naming_its_config_key(template):
    assert list(template["Outputs"]) == [o.name for o in OUTPUTS]
    for row in OUTPUTS:
        output = template["Outputs"][row.name]
        if row.config_key:
            assert row.config_key in output["Description"]
        assert output.get("Condition") == row.condition
        if row.condition:
            assert row.condition in template["Conditions"]


def test_required_outputs_carry_the_upstream_names():
    required = {o.name for o in OUTPUTS if o.required}
    assert required <= UPSTREAM_OUTPUTS
    # The API key is optional here (the stack can run without one) but understood by name.
    assert UPSTREAM_OUTPUTS - required == {"ApiKeyId"}


def test_config_keys_cover_the_metaflow_settings_the_client_needs():
    assert {
        "METAFLOW_DATASTORE_SYSROOT_S3",
        "METAFLOW_DATATOOLS_S3ROOT",
        "METAFLOW_SERVICE_URL",
        "METAFLOW_SERVICE_INTERNAL_URL",
        "METAFLOW_SERVICE_AUTH_KEY",
        "METAFLOW_BATCH_JOB_QUEUE",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE",
        "METAFLOW_ECS_FARGATE_EXECUTION_ROLE",
        "METAFLOW_SFN_IAM_ROLE",
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE",
        "METAFLOW_SFN_DYNAMO_DB_TABLE",
        "METAFLOW_SFN_STATE_MACHINE_PREFIX",
        "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
        "METAFLOW_SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH",
        "METAFLOW_CONDA_PACKAGE_S3ROOT",
        "METAFLOW_CARD_S3ROOT",
        "METAFLOW_BATCH_CONTAINER_REGISTRY",
    } | set(FIXED_CONFIG) == config_keys()


def test_database_password_never_appears_in_the_template(template):
    (database,) = resources_of_type(template, "AWS::RDS::DBInstance").values()
    assert database["Properties"]["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in database["Properties"]
    (task,) = resources_of_type(template, "AWS::ECS::TaskDefinition").values()
    for container in task["Properties"]["ContainerDefinitions"]:
        names = {e["Name"] for e in container.get("Environment", [])}
        assert "MF_METADATA_DB_PSWD" not in names
        (secret,) = container["Secrets"]
        assert secret["Name"] == "MF_METADATA_DB_PSWD"
        assert "MasterUserSecret.SecretArn" in json.dumps(secret["ValueFrom"])


def test_schema_migration_runs_before_the_service(template):
    (task,) = resources_of_type(template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["EntryPoint"] == ["/bin/sh", "-c"]
    (script,) = container["Command"]
    migrate, serve = script.split(" && ")
    assert migrate.endswith("/root/run_goose.py")
    assert serve.startswith("exec ") and serve.endswith("-m services.metadata_service.server")


def test_api_requires_a_key_exactly_when_the_parameter_says_so(template):
    (method,) = resources_of_type(template, "AWS::ApiGateway::Method").values()
    assert method["Properties"]["ApiKeyRequired"] == {"Fn::If": ["ApiKeyRequired", True, False]}
    for kind in ("ApiKey", "UsagePlan", "UsagePlanKey"):
        (resource,) = resources_of_type(template, f"AWS::ApiGateway::{kind}").values()
        assert resource["Condition"] == "ApiKeyRequired"


def test_notebook_config_is_the_contract_inside_the_vpc(template):
    (lifecycle,) = resources_of_type(
        template, "AWS::SageMaker::NotebookInstanceLifecycleConfig"
    ).values()
    script, _ = lifecycle["Properties"]["OnStart"][0]["Content"]["Fn::Base64"]["Fn::Sub"]
    body = script.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    config = json.loads(body)
    expected = {o.config_key for o in OUTPUTS if o.config_key and not o.api_key_id}
    assert set(config) == expected
    # Inside the VPC the notebook talks to the load balancer directly, which needs no key.
    assert config["METAFLOW_SERVICE_URL"] == config["METAFLOW_SERVICE_INTERNAL_URL"]
    assert config["METAFLOW_SERVICE_URL"] == "http://${MetadataLoadBalancer.DNSName}/"
    assert config["METAFLOW_DATASTORE_SYSROOT_S3"] == "s3://${DatastoreBucket}/metaflow"


def test_state_machine_permissions_are_scoped_to_the_stack_prefix(template):
    role = template["Resources"]["EventBridgeRole"]
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["states:StartExecution"]
    (resource,) = statement["Resource"]
    assert resource["Fn::Sub"].endswith(":stateMachine:${AWS::StackName}_*")


def test_every_role_carries_the_optional_permissions_boundary(template):
    roles = resources_of_type(template, "AWS::IAM::Role")
    assert roles
    for role in roles.values():
        assert role["Properties"]["PermissionsBoundary"] == {
            "Fn::If": [
                "HasBoundary",
                {"Ref": "PermissionsBoundaryArn"},
                {"Ref": "AWS::NoValue"},
            ]
        }


def test_no_partition_is_hard_coded(template):
    text = json.dumps(template)
    for partition in ("arn:aws:", "arn:aws-us-gov:", "arn:aws-cn:"):
        assert partition not in text


def test_console_groups_list_every_parameter_once(template):
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for g in interface["ParameterGroups"] for p in g["Parameters"]]
    assert sorted(grouped) == sorted(template["Parameters"])
    assert set(interface["ParameterLabels"]) == set(template["Parameters"])
    for name, parameter in template["Parameters"].items():
        assert len(parameter.get("Description", "")) > 20, name
