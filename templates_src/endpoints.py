"""Interface VPC endpoints for isolated mode: one per AWS service a component inside the VPC calls,
and only while that component exists. Each costs money per hour and zone, so the table below is the
whole list, and the README justifies every row.

Only in a VPC the stack creates: an existing VPC brings its own (the README lists them), and a
second endpoint with private DNS for the same service would clash with the first. S3 and DynamoDB
are reached through gateway endpoints (network.py), which are free.
"""

from troposphere import Ref, Sub, ec2

from .base import Stack
from .compute import EC2
from .network import NEW_ISOLATED, Network
from .notebooks import NOTEBOOK

ISOLATED_EC2 = "IsolatedEc2"
ISOLATED_NOTEBOOK = "IsolatedNotebook"
ISOLATED = NEW_ISOLATED

# service -> (condition, who calls it)
ENDPOINTS: dict[str, tuple[str, str]] = {
    "ecr.api": (ISOLATED, "image pulls: metadata service, Batch jobs"),
    "ecr.dkr": (ISOLATED, "image pulls: metadata service, Batch jobs"),
    "logs": (ISOLATED, "awslogs driver: metadata service, Batch jobs; notebook log tailing"),
    "secretsmanager": (ISOLATED, "database password injected into the metadata service"),
    "ecs": (ISOLATED_EC2, "ECS agent on Batch instances"),
    "ecs-agent": (ISOLATED_EC2, "ECS agent on Batch instances"),
    "ecs-telemetry": (ISOLATED_EC2, "ECS agent on Batch instances"),
    "batch": (ISOLATED_NOTEBOOK, "Metaflow in the notebook: submit and watch @batch steps"),
    "states": (ISOLATED_NOTEBOOK, "Metaflow in the notebook: step-functions create/trigger"),
    "events": (ISOLATED_NOTEBOOK, "Metaflow in the notebook: @schedule rules"),
}


def logical_id(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("-", ".").split(".")) + "Endpoint"


def add_endpoints(stack: Stack, network: Network) -> None:
    t = stack.template
    stack.condition(ISOLATED_EC2, {"Fn::And": [{"Condition": ISOLATED}, {"Condition": EC2}]})
    stack.condition(
        ISOLATED_NOTEBOOK, {"Fn::And": [{"Condition": ISOLATED}, {"Condition": NOTEBOOK}]}
    )
    in_vpc = [ec2.SecurityGroupRule(IpProtocol="-1", CidrIp=network.vpc_cidr, Description="VPC")]
    security_group = t.add_resource(
        ec2.SecurityGroup(
            "EndpointSecurityGroup",
            Condition=ISOLATED,
            GroupDescription="Metaflow VPC endpoints",
            VpcId=network.new_vpc_id,
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=network.vpc_cidr,
                    Description="VPC",
                )
            ],
            SecurityGroupEgress=in_vpc,
        )
    )
    for service, (condition, _) in ENDPOINTS.items():
        t.add_resource(
            ec2.VPCEndpoint(
                logical_id(service),
                Condition=condition,
                VpcId=network.new_vpc_id,
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=network.new_subnet_ids,
                SecurityGroupIds=[Ref(security_group)],
            )
        )
