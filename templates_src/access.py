"""Access: exactly what a Metaflow user needs to use this stack, as a grant any role can receive,
and an optional role plus attachable managed policy that carry it.
"""

from dataclasses import dataclass

from awacs import apigateway as apigw_actions
from awacs import batch as batch_actions
from awacs import cloudformation as cfn_actions
from awacs import events as events_actions
from awacs import logs as log_actions
from awacs import states as states_actions
from awacs.aws import Principal
from troposphere import Ref, Sub

from .base import Stack
from .compute import Compute
from .iam import Grantee, Roles, grant_pass, partition_arn
from .metadata import API_KEY, MetadataService
from .orchestration import Orchestration
from .storage import Storage

USER_ROLE = "CreateUserRole"


@dataclass
class Access:
    storage: Storage
    compute: Compute
    orchestration: Orchestration
    metadata: MetadataService
    user_policy: Grantee

    @property
    def user_policy_arn(self) -> Ref:
        """Attach this (roles: `managed=[...]`) rather than granting the same statements again."""
        return Ref(self.user_policy.resource)

    def grant_metaflow_user(self, role: Grantee) -> None:
        """Run flows on Batch, deploy them to Step Functions, read their logs and the API key."""
        self.storage.grant_read_write(role)
        self.compute.grant_submit(role, define=True)
        role.allow([batch_actions.TerminateJob], [partition_arn("batch", "job/*")])
        # Describe and List calls in Batch have no resource-level permissions.
        role.allow(
            [
                batch_actions.DescribeJobs,
                batch_actions.DescribeJobDefinitions,
                batch_actions.DescribeJobQueues,
                batch_actions.DescribeComputeEnvironments,
                batch_actions.ListJobs,
            ],
            ["*"],
        )
        grant_pass(
            role, [self.compute.job_role, self.compute.execution_role], "batch.amazonaws.com"
        )
        grant_pass(role, [self.orchestration.sfn_role], "states.amazonaws.com")
        grant_pass(role, [self.orchestration.events_role], "events.amazonaws.com")

        role.allow(
            [
                states_actions.CreateStateMachine,
                states_actions.UpdateStateMachine,
                states_actions.DeleteStateMachine,
                states_actions.DescribeStateMachine,
                states_actions.StartExecution,
                states_actions.TagResource,
            ],
            [Orchestration.state_machines()],
        )
        role.allow(
            [
                states_actions.DescribeExecution,
                states_actions.StopExecution,
                states_actions.GetExecutionHistory,
            ],
            [Orchestration.executions()],
        )
        role.allow(
            [
                events_actions.PutRule,
                events_actions.PutTargets,
                events_actions.DescribeRule,
                events_actions.DisableRule,
                events_actions.RemoveTargets,
                events_actions.DeleteRule,
            ],
            [partition_arn("events", "rule/${AWS::StackName}_*")],
        )
        role.allow(
            [log_actions.GetLogEvents],
            [partition_arn("logs", "log-group:/aws/batch/job:log-stream:*")],
        )
        role.allow(
            [cfn_actions.DescribeStacks],
            [partition_arn("cloudformation", "stack/${AWS::StackName}/*")],
        )
        role.allow(
            [apigw_actions.GET],
            [Sub("arn:${AWS::Partition}:apigateway:${AWS::Region}::/apikeys/${MetadataApiKey}")],
            only_if=API_KEY,
        )


def add_access(
    stack: Stack,
    roles: Roles,
    storage: Storage,
    compute: Compute,
    orchestration: Orchestration,
    metadata: MetadataService,
) -> Access:
    policy = roles.managed_policy(
        "MetaflowUserPolicy", "Use the Metaflow stack: datastore, Batch, Step Functions"
    )
    access = Access(storage, compute, orchestration, metadata, policy)
    access.grant_metaflow_user(policy)
    stack.switch(
        "Access",
        USER_ROLE,
        "Create a Metaflow user role",
        True,
        "A role with exactly what using this stack needs. Its managed policy exists either way, "
        "for SSO.",
    )
    roles.new(
        "MetaflowUserRole",
        "",
        condition=USER_ROLE,
        managed=[access.user_policy_arn],
        principal=Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")]),
    )
    return access
