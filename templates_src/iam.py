"""Roles whose policies follow from relationships.

A module that owns a resource gives it grant methods ("this role reads and writes that bucket"); the
grant adds the least-privilege statement to the role. Roles collect their statements and write them
as one inline policy when the stack is finished, so no policy is listed by hand anywhere else.
Every role the stack creates carries the optional permissions boundary.
"""

from dataclasses import dataclass, field

from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.iam import PassRole
from awacs.sts import AssumeRole
from troposphere import AWS_NO_VALUE, GetAtt, If, Ref, Sub, iam

from .base import NO_VALUE, Stack

BOUNDARY_CONDITION = "HasBoundary"


def partition_arn(service: str, resource: str, region: bool = True, account: bool = True) -> Sub:
    """An ARN in the stack's own partition, region and account (GovCloud and China included)."""
    where = ("${AWS::Region}" if region else "") + ":" + ("${AWS::AccountId}" if account else "")
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:{resource}")


def aws_managed_policy(name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{name}")


@dataclass
class Grantee:
    """Anything that collects permission statements: a role, or a managed policy."""

    resource: object
    statements: list = field(default_factory=list)

    def allow(
        self, actions, resources, condition: Condition | None = None, only_if: str | None = None
    ) -> None:
        """Allow `actions` on `resources`; with `only_if`, only where that template condition
        holds (the statement is left out otherwise)."""
        kwargs = {"Condition": condition} if condition else {}
        statement = Statement(
            Effect=Allow, Action=list(actions), Resource=list(resources), **kwargs
        )
        self.statements.append(If(only_if, statement, NO_VALUE) if only_if else statement)

    def document(self) -> dict:
        return {"Version": "2012-10-17", "Statement": self.statements}


@dataclass
class RoleHandle(Grantee):
    @property
    def arn(self) -> GetAtt:
        return GetAtt(self.resource, "Arn")

    @property
    def name(self) -> Ref:
        return Ref(self.resource)


def grant_pass(grantee: Grantee, roles: list[RoleHandle], service: str) -> None:
    """`grantee` may hand these roles to `service`, and to nothing else."""
    grantee.allow(
        [PassRole],
        [role.arn for role in roles],
        Condition(StringEquals("iam:PassedToService", service)),
    )


class Roles:
    """Creates the stack's roles and writes their collected policies at the end."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.roles: list[RoleHandle] = []
        self.policies: list[Grantee] = []
        self.boundary = stack.parameter(
            "Access",
            "PermissionsBoundaryArn",
            "Permissions boundary",
            Type="String",
            Default="",
            AllowedPattern=r"^(arn:aws[a-z-]*:iam::\d{12}:policy/.+)?$",
            Description="Managed policy set as boundary on every role this stack creates. "
            "Empty: none.",
        )
        stack.template.add_condition(
            BOUNDARY_CONDITION, {"Fn::Not": [{"Fn::Equals": [self.boundary, ""]}]}
        )

    def new(
        self,
        logical_id: str,
        service: str,
        condition: str | None = None,
        managed: list | None = None,
        principal: Principal | None = None,
    ) -> RoleHandle:
        trust = PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(
                    Effect=Allow,
                    Action=[AssumeRole],
                    Principal=principal or Principal("Service", [service]),
                )
            ],
        )
        role = iam.Role(
            logical_id,
            AssumeRolePolicyDocument=trust,
            PermissionsBoundary=If(BOUNDARY_CONDITION, self.boundary, Ref(AWS_NO_VALUE)),
        )
        if managed:
            role.ManagedPolicyArns = managed
        if condition:
            role.Condition = condition
        self.stack.template.add_resource(role)
        handle = RoleHandle(role)
        self.roles.append(handle)
        return handle

    def managed_policy(self, logical_id: str, description: str) -> Grantee:
        """A managed policy that roles list in `managed` and people attach to their own users."""
        policy = self.stack.template.add_resource(
            iam.ManagedPolicy(logical_id, Description=description)
        )
        grantee = Grantee(policy)
        self.policies.append(grantee)
        return grantee

    def finish(self) -> None:
        for handle in self.roles:
            if handle.statements:
                handle.resource.Policies = [
                    iam.Policy(PolicyName="grants", PolicyDocument=handle.document())
                ]
        for grantee in self.policies:
            grantee.resource.PolicyDocument = grantee.document()
