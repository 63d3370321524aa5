"""The contract between the stack and the Metaflow client, defined once.

Each row is one stack output: its logical name, where its value comes from in the composed stack
(`module.attribute` of the handles the template modules return), the Metaflow config key the wizard
writes it to, and the description shown in the CloudFormation console. The template generator emits
an Output per row; the wizard reads the same rows. A new output is one line here.

This module imports nothing from troposphere, so the wizard can use it without the generator.
"""

from dataclasses import dataclass

TEMPLATE_VERSION = "0.1.0"


@dataclass(frozen=True)
class Output:
    name: str
    source: str
    description: str
    config_key: str | None = None
    # The wizard refuses a stack that lacks a required output. The required rows are exactly the
    # outputs the widely used upstream Metaflow template also has, under the same names, so stacks
    # deployed from it are understood too.
    required: bool = False
    # The output holds the id of an API Gateway key; the client needs the key's value.
    api_key_id: bool = False
    # Name of a template condition; the output exists only when it holds.
    condition: str | None = None


OUTPUTS: tuple[Output, ...] = (
    Output(
        "MetaflowDataStoreS3Url",
        "storage.datastore_root",
        "Metaflow datastore root",
        "METAFLOW_DATASTORE_SYSROOT_S3",
        required=True,
    ),
    Output(
        "MetaflowDataToolsS3Url",
        "storage.datatools_root",
        "Metaflow data tools root",
        "METAFLOW_DATATOOLS_S3ROOT",
        required=True,
    ),
    Output(
        "CondaPackageS3Root",
        "storage.package_root",
        "Pre-staged @pypi/@conda packages",
        "METAFLOW_CONDA_PACKAGE_S3ROOT",
    ),
    Output("CardS3Root", "storage.card_root", "Metaflow cards", "METAFLOW_CARD_S3ROOT"),
    Output(
        "ServiceUrl",
        "metadata.service_url",
        "Metadata service URL (API Gateway)",
        "METAFLOW_SERVICE_URL",
        required=True,
    ),
    Output(
        "InternalServiceUrl",
        "metadata.internal_url",
        "Metadata service URL inside the VPC",
        "METAFLOW_SERVICE_INTERNAL_URL",
        required=True,
    ),
    Output(
        "ApiKeyId",
        "metadata.api_key_id",
        "Id of the API key whose value is the auth key",
        "METAFLOW_SERVICE_AUTH_KEY",
        api_key_id=True,
        condition="ApiKeyRequired",
    ),
    Output(
        "BatchJobQueueArn",
        "compute.job_queue_arn",
        "Default AWS Batch job queue",
        "METAFLOW_BATCH_JOB_QUEUE",
        required=True,
    ),
    Output("BatchBulkJobQueueArn", "compute.bulk_job_queue_arn", "Low-priority queue for sweeps"),
    Output("BatchGpuJobQueueArn", "compute.gpu_job_queue_arn", "GPU queue", condition="EnableGpu"),
    Output(
        "ECSJobRoleForBatchJobs",
        "compute.job_role_arn",
        "Role Batch jobs run as",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE",
        required=True,
    ),
    Output(
        "FargateExecutionRoleArn",
        "compute.execution_role_arn",
        "Fargate execution role",
        "METAFLOW_ECS_FARGATE_EXECUTION_ROLE",
    ),
    Output(
        "StepFunctionsRoleArn",
        "orchestration.sfn_role_arn",
        "Role Step Functions assumes",
        "METAFLOW_SFN_IAM_ROLE",
        required=True,
    ),
    Output(
        "EventBridgeRoleArn",
        "orchestration.events_role_arn",
        "Role EventBridge schedules use",
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE",
        required=True,
    ),
    Output(
        "DDBTableName",
        "orchestration.table_name",
        "DynamoDB table for foreach joins",
        "METAFLOW_SFN_DYNAMO_DB_TABLE",
        required=True,
    ),
    Output(
        "StateMachinePrefix",
        "orchestration.state_machine_prefix",
        "Prefix of this stack's state machines",
        "METAFLOW_SFN_STATE_MACHINE_PREFIX",
    ),
    Output(
        "SfnExecutionLogGroupArn",
        "orchestration.log_group_arn",
        "Log group for state machine executions",
        "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
    ),
    Output(
        "SfnDistributedMapOutputPath",
        "storage.distributed_map_root",
        "Distributed-map output location",
        "METAFLOW_SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH",
    ),
    Output("NotebookUrl", "notebooks.url", "SageMaker notebook", condition="EnableNotebook"),
    Output(
        "BatchContainerRegistry",
        "network.batch_container_registry",
        "Registry of Batch images (isolated)",
        "METAFLOW_BATCH_CONTAINER_REGISTRY",
        condition="Isolated",
    ),
    Output("VpcId", "network.vpc_id", "VPC the stack runs in"),
    Output("SubnetIds", "network.subnet_list", "Subnets workloads run in"),
    Output("TemplateVersion", "version", "Version of the template that built this stack"),
)

# Written into every profile the wizard creates, whatever the stack.
FIXED_CONFIG = {
    "METAFLOW_DEFAULT_DATASTORE": "s3",
    "METAFLOW_DEFAULT_METADATA": "service",
}


def config_keys() -> set[str]:
    """Every Metaflow config key the stack owns (and the wizard may replace)."""
    return {o.config_key for o in OUTPUTS if o.config_key} | set(FIXED_CONFIG)
