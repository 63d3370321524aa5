"""Compute: AWS Batch capacity for Metaflow's @batch steps, and the roles its jobs run as."""

from dataclasses import dataclass

from troposphere import GetAtt, If, Ref, batch, ec2, iam

from .base import Stack
from .iam import RoleHandle, Roles, aws_managed_policy
from .network import Network
from .storage import Storage

FARGATE = "UseFargate"
EC2 = "UseEc2"


@dataclass
class Compute:
    job_queue: batch.JobQueue
    job_role: RoleHandle
    execution_role: RoleHandle
    security_group: ec2.SecurityGroup

    @property
    def job_queue_arn(self):
        return Ref(self.job_queue)

    @property
    def job_role_arn(self):
        return self.job_role.arn

    @property
    def execution_role_arn(self):
        return self.execution_role.arn


def add_compute(stack: Stack, roles: Roles, network: Network, storage: Storage) -> Compute:
    t = stack.template
    compute_type = stack.parameter(
        "Compute",
        "ComputeType",
        "Batch compute type",
        Type="String",
        Default="EC2",
        AllowedValues=["EC2", "FARGATE"],
        Description="EC2: instances Batch starts and stops for you (GPUs, large memory, cheapest "
        "per vCPU). FARGATE: no instances to manage, up to 16 vCPUs per task.",
    )
    stack.condition(FARGATE, {"Fn::Equals": [compute_type, "FARGATE"]})
    stack.condition(EC2, {"Fn::Equals": [compute_type, "EC2"]})
    max_vcpus = stack.parameter(
        "Compute",
        "MaxVCPUs",
        "Maximum vCPUs",
        Type="Number",
        Default=64,
        MinValue=1,
        MaxValue=100000,
        Description="Upper bound on the vCPUs Batch runs at once: caps the bill of a runaway "
        "sweep. Raise it (thousands are fine) for large foreach fan-outs.",
    )
    min_vcpus = stack.parameter(
        "Compute",
        "MinVCPUs",
        "Minimum vCPUs (EC2)",
        Type="Number",
        Default=0,
        MinValue=0,
        MaxValue=100000,
        Description="vCPUs kept running while idle. 0 costs nothing at rest; more makes the first "
        "job of the day start faster but is billed around the clock.",
    )
    instance_types = stack.parameter(
        "Compute",
        "InstanceTypes",
        "Instance types (EC2)",
        Type="CommaDelimitedList",
        Default="c6i,m6i,r6i",
        Description="EC2 instance families or types Batch may start.",
    )

    security_group = t.add_resource(
        ec2.SecurityGroup(
            "BatchSecurityGroup",
            GroupDescription="Metaflow Batch jobs: no inbound traffic",
            VpcId=network.vpc_id,
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    IpProtocol="-1",
                    CidrIp="0.0.0.0/0",
                    Description="AWS APIs and package mirrors",
                )
            ],
        )
    )

    instance_role = roles.new(
        "BatchInstanceRole",
        "ec2.amazonaws.com",
        condition=EC2,
        managed=[aws_managed_policy("service-role/AmazonEC2ContainerServiceforEC2Role")],
    )
    instance_profile = t.add_resource(
        iam.InstanceProfile(
            "BatchInstanceProfile",
            Condition=EC2,
            Roles=[instance_role.name],
        )
    )
    ec2_environment = t.add_resource(
        batch.ComputeEnvironment(
            "Ec2ComputeEnvironment",
            Condition=EC2,
            Type="MANAGED",
            ComputeResources=batch.ComputeResources(
                Type="EC2",
                AllocationStrategy="BEST_FIT_PROGRESSIVE",
                MinvCpus=min_vcpus,
                MaxvCpus=max_vcpus,
                InstanceTypes=instance_types,
                InstanceRole=GetAtt(instance_profile, "Arn"),
                Subnets=network.subnet_ids,
                SecurityGroupIds=[Ref(security_group)],
            ),
        )
    )
    fargate_environment = t.add_resource(
        batch.ComputeEnvironment(
            "FargateComputeEnvironment",
            Condition=FARGATE,
            Type="MANAGED",
            ComputeResources=batch.ComputeResources(
                Type="FARGATE",
                MaxvCpus=max_vcpus,
                Subnets=network.subnet_ids,
                SecurityGroupIds=[Ref(security_group)],
            ),
        )
    )
    queue = t.add_resource(
        batch.JobQueue(
            "JobQueue",
            Priority=100,
            State="ENABLED",
            ComputeEnvironmentOrder=[
                batch.ComputeEnvironmentOrder(
                    Order=1,
                    ComputeEnvironment=If(FARGATE, Ref(fargate_environment), Ref(ec2_environment)),
                )
            ],
        )
    )

    job_role = roles.new("BatchJobRole", "ecs-tasks.amazonaws.com")
    storage.grant_read_write(job_role)
    execution_role = roles.new(
        "FargateExecutionRole",
        "ecs-tasks.amazonaws.com",
        managed=[aws_managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")],
    )
    return Compute(queue, job_role, execution_role, security_group)
