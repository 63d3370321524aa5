"""Orchestration: what `python flow.py step-functions create` needs.

State machines are named `<prefix>_<FlowName>` by Metaflow; the prefix is the stack name, so every
permission on state machines and their EventBridge rules is scoped to this stack's own.
"""

from dataclasses import dataclass

from awacs import batch as batch_actions
from awacs import dynamodb as ddb_actions
from awacs import events as events_actions
from awacs import logs as log_actions
from awacs import states as states_actions
from troposphere import GetAtt, Ref, Sub, dynamodb, logs

from .base import RETAIN, Stack, skip_checks, when
from .compute import Compute
from .encryption import KEY_BY_PARAMETER, USE_KEY, Encryption
from .iam import Grantee, RoleHandle, Roles, partition_arn
from .storage import Storage

# Step Functions' .sync Batch integration watches jobs through this managed rule.
BATCH_SYNC_RULE = "rule/StepFunctionsGetEventsForBatchJobsRule"


@dataclass
class Orchestration:
    table: dynamodb.Table
    sfn_role: RoleHandle
    events_role: RoleHandle
    log_group: logs.LogGroup

    @property
    def table_name(self):
        return Ref(self.table)

    @property
    def sfn_role_arn(self):
        return self.sfn_role.arn

    @property
    def events_role_arn(self):
        return self.events_role.arn

    @property
    def log_group_arn(self):
        return GetAtt(self.log_group, "Arn")

    @property
    def state_machine_prefix(self):
        return Ref("AWS::StackName")

    @staticmethod
    def state_machines():
        return partition_arn("states", "stateMachine:${AWS::StackName}_*")

    @staticmethod
    def executions():
        return partition_arn("states", "execution:${AWS::StackName}_*")

    @staticmethod
    def grant_start_executions(role: Grantee) -> None:
        role.allow([states_actions.StartExecution], [Orchestration.state_machines()])

    def grant_read_write_table(self, role: Grantee) -> None:
        role.allow(
            [ddb_actions.GetItem, ddb_actions.PutItem, ddb_actions.UpdateItem],
            [GetAtt(self.table, "Arn")],
        )


def add_orchestration(
    stack: Stack, roles: Roles, storage: Storage, compute: Compute, encryption: Encryption
) -> Orchestration:
    t = stack.template
    table = t.add_resource(
        skip_checks(
            dynamodb.Table(
                "StepFunctionsTable",
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    dynamodb.AttributeDefinition(AttributeName="pathspec", AttributeType="S")
                ],
                KeySchema=[dynamodb.KeySchema(AttributeName="pathspec", KeyType="HASH")],
                TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(
                    AttributeName="ttl", Enabled=True
                ),
                PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
                    PointInTimeRecoveryEnabled=True
                ),
                SSESpecification=dynamodb.SSESpecification(
                    SSEEnabled=True,
                    SSEType=when(USE_KEY, "KMS"),
                    KMSMasterKeyId=when(USE_KEY, encryption.key_arn),
                ),
                **RETAIN,
            ),
            CKV_AWS_119=KEY_BY_PARAMETER,
        )
    )
    log_group = t.add_resource(
        skip_checks(
            logs.LogGroup(
                "StepFunctionsLogs",
                LogGroupName=Sub("/aws/vendedlogs/states/${AWS::StackName}"),
                RetentionInDays=90,
                KmsKeyId=when(USE_KEY, encryption.key_arn),
                **RETAIN,
            ),
            CKV_AWS_158=KEY_BY_PARAMETER,
        )
    )

    sfn_role = roles.new("StepFunctionsRole", "states.amazonaws.com")
    compute.grant_submit(sfn_role)
    sfn_role.allow(
        [batch_actions.DescribeJobs, batch_actions.TerminateJob], [partition_arn("batch", "job/*")]
    )
    sfn_role.allow(
        [events_actions.PutTargets, events_actions.PutRule, events_actions.DescribeRule],
        [partition_arn("events", BATCH_SYNC_RULE)],
    )
    # Vended log delivery has no resource-level permissions: AWS documents these on "*".
    sfn_role.allow(
        [
            log_actions.CreateLogDelivery,
            log_actions.GetLogDelivery,
            log_actions.UpdateLogDelivery,
            log_actions.DeleteLogDelivery,
            log_actions.ListLogDeliveries,
            log_actions.PutResourcePolicy,
            log_actions.DescribeResourcePolicies,
            log_actions.DescribeLogGroups,
        ],
        ["*"],
    )
    storage.grant_read_write(sfn_role, "sfn-map-output/*")
    # Distributed maps start child executions of the stack's own machines.
    Orchestration.grant_start_executions(sfn_role)

    events_role = roles.new("EventBridgeRole", "events.amazonaws.com")
    Orchestration.grant_start_executions(events_role)

    orchestration = Orchestration(table, sfn_role, events_role, log_group)
    orchestration.grant_read_write_table(sfn_role)
    orchestration.grant_read_write_table(compute.job_role)
    return orchestration
