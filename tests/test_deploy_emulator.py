"""Every parameter file deploys into the emulator through CloudFormation, with every output."""

import re

import pytest

from demo.deploy import deploy, existing_network, load_parameters
from templates_src.configurations import CONFIGURATIONS
from templates_src.contract import OUTPUTS
from tools.cfn_eval import evaluate_conditions

WELL_FORMED = {
    "MetaflowDataStoreS3Url": r"^s3://[a-z0-9.-]+/metaflow$",
    "MetaflowDataToolsS3Url": r"^s3://[a-z0-9.-]+/data$",
    "CondaPackageS3Root": r"^s3://[a-z0-9.-]+/packages$",
    "CardS3Root": r"^s3://[a-z0-9.-]+/metaflow/mf.cards$",
    "SfnDistributedMapOutputPath": r"^s3://[a-z0-9.-]+/sfn-map-output$",
    "ServiceUrl": r"^https://[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com/api/$",
    "InternalServiceUrl": r"^http://[A-Za-z0-9.-]+\.elb\.amazonaws\.com/$",
    "ApiKeyId": r"^[a-z0-9]+$",
    "BatchJobQueueArn": r"^arn:aws:batch:[a-z0-9-]+:\d{12}:job-queue/.+$",
    "BatchBulkJobQueueArn": r"^arn:aws:batch:[a-z0-9-]+:\d{12}:job-queue/.+$",
    "BatchGpuJobQueueArn": r"^arn:aws:batch:[a-z0-9-]+:\d{12}:job-queue/.+$",
    "ECSJobRoleForBatchJobs": r"^arn:aws:iam::\d{12}:role/.+$",
    "FargateExecutionRoleArn": r"^arn:aws:iam::\d{12}:role/.+$",
    "StepFunctionsRoleArn": r"^arn:aws:iam::\d{12}:role/.+$",
    "EventBridgeRoleArn": r"^arn:aws:iam::\d{12}:role/.+$",
    "DDBTableName": r"^[A-Za-z0-9_.-]+$",
    "StateMachinePrefix": r"^[A-Za-z][A-Za-z0-9-]*$",
    "SfnExecutionLogGroupArn": r"^arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:/aws/vendedlogs/.+$",
    "VpcId": r"^vpc-[0-9a-f]+$",
    "SubnetIds": r"^subnet-[0-9a-f]+(,subnet-[0-9a-f]+)+$",
    "TemplateVersion": r"^\d+\.\d+\.\d+$",
}


def deploy_configuration(aws, name: str) -> tuple[str, dict[str, str]]:
    overrides = existing_network(aws) if "ExistingVpcId" in CONFIGURATIONS[name] else {}
    stack_name = f"mf-{name}"
    outputs = deploy(stack_name, load_parameters(name, overrides), session=aws)
    return stack_name, outputs


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_configuration_deploys_with_well_formed_outputs(aws, template, name):
    _, outputs = deploy_configuration(aws, name)
    holds = evaluate_conditions(template, CONFIGURATIONS[name])
    expected = {
        o.name for o in OUTPUTS if o.condition != "EnableNotebook" and holds.get(o.condition, True)
    }
    assert expected <= set(outputs), expected - set(outputs)
    for key, value in outputs.items():
        assert re.match(WELL_FORMED.get(key, r".+"), value), f"{key}={value!r}"


def test_existing_vpc_is_used_not_created(aws):
    network = existing_network(aws)
    outputs = deploy("mf-reuse", load_parameters("existing-vpc", network), session=aws)
    assert outputs["VpcId"] == network["ExistingVpcId"]
    assert outputs["SubnetIds"] == network["ExistingSubnetIds"]
