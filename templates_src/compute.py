"""Compute: AWS Batch capacity for Metaflow's @batch steps, and the roles its jobs run as.

Three queues: the default one, a low-priority bulk queue on the same capacity (for sweeps that must
yield to interactive work) and, when enabled, a GPU queue on its own GPU instances. Each capacity
pool is an on-demand compute environment, optionally preceded in its queues by a Spot twin, so jobs
run on Spot when there is Spot capacity and fall back to on-demand when there is not.
"""

from dataclasses import dataclass

from awacs import batch as batch_actions
from troposphere import And, Condition, GetAtt, If, Or, Ref, Tags, batch, ec2, iam

from .base import Stack, when
from .iam import Grantee, RoleHandle, Roles, aws_managed_policy, partition_arn
from .network import Network
from .storage import Storage

EC2 = "UseEc2"
GPU = "EnableGpu"
SPOT = "EnableSpot"
# EC2 instances run for CPU jobs on EC2 or for GPU jobs: they need a role and a launch template.
INSTANCES = "UseInstances"

# Families or types. CPU types exclude the g and p (GPU) families, so CPU jobs never land on GPUs.
CPU_TYPES = r"^[a-fh-oq-z][0-9a-z-]*[0-9][0-9a-z-]*(\.[0-9a-z]+)?$"
GPU_TYPES = r"^(gr?|p)[0-9][0-9a-z-]*(\.[0-9a-z]+)?$"
# CPU environments get Batch's default image, the ECS-optimised AL2023 AMI. GPU ones need the
# ECS GPU-optimised AMI (NVIDIA driver and container toolkit), on AL2023 as AWS now recommends.
GPU_IMAGE = "ECS_AL2023_NVIDIA"
SPOT_ALLOCATION = "SPOT_PRICE_CAPACITY_OPTIMIZED"
DEFAULT_PRIORITY = 100
BULK_PRIORITY = 1


@dataclass
class Compute:
    job_queue: batch.JobQueue
    bulk_queue: batch.JobQueue
    gpu_queue: batch.JobQueue
    job_role: RoleHandle
    execution_role: RoleHandle
    security_group: ec2.SecurityGroup

    @property
    def job_queue_arn(self):
        return Ref(self.job_queue)

    @property
    def bulk_job_queue_arn(self):
        return Ref(self.bulk_queue)

    @property
    def gpu_job_queue_arn(self):
        return Ref(self.gpu_queue)

    @property
    def job_queue_arns(self) -> list:
        """Every queue of the stack."""
        return [self.job_queue_arn, self.bulk_job_queue_arn, when(GPU, self.gpu_job_queue_arn)]

    def grant_submit(self, role: Grantee, define: bool = False) -> None:
        """`role` may submit jobs to every queue; with `define`, also register the job
        definitions it submits (Metaflow registers one per step). Each action applies only to the
        resource types it names, so one statement holds both."""
        actions = [batch_actions.SubmitJob]
        if define:
            actions.append(batch_actions.RegisterJobDefinition)
        role.allow(actions, [*self.job_queue_arns, partition_arn("batch", "job-definition/*")])

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
        Description="EC2: instances Batch scales for you (cheapest per vCPU, large memory). "
        "FARGATE: no instances, up to 16 vCPUs per task.",
    )
    stack.condition(EC2, {"Fn::Equals": [compute_type, "EC2"]})
    max_vcpus = stack.parameter(
        "Compute",
        "MaxVCPUs",
        "Maximum vCPUs",
        Type="Number",
        Default=64,
        MinValue=1,
        MaxValue=100000,
        Description="Caps CPU jobs' vCPUs at once, so a runaway sweep's bill. Thousands are fine.",
    )
    min_vcpus = stack.parameter(
        "Compute",
        "MinVCPUs",
        "Minimum vCPUs (EC2)",
        Type="Number",
        Default=0,
        MinValue=0,
        MaxValue=100000,
        Description="vCPUs kept running while idle, for faster starts; billed around the clock.",
    )
    instance_types = stack.parameter(
        "Compute",
        "InstanceTypes",
        "Instance types (EC2)",
        Type="CommaDelimitedList",
        Default="c7i,m7i,r7i",
        AllowedPattern=CPU_TYPES,
        Description="CPU families or types; no GPU ones.",
    )
    stack.switch(
        "Compute",
        SPOT,
        "Spot",
        False,
        "Spot first (far cheaper, can be interrupted), on-demand as fallback.",
    )
    stack.switch("Compute", GPU, "GPU queue", False, "A job queue on GPU instances.")
    gpu_types = stack.parameter(
        "Compute",
        "GpuInstanceTypes",
        "GPU types",
        Type="CommaDelimitedList",
        Default="g5,g6,g6e",
        AllowedPattern=GPU_TYPES,
        Description="GPU families or types (g, gr, p).",
    )
    gpu_max_vcpus = stack.parameter(
        "Compute",
        "GpuMaxVCPUs",
        "GPU max vCPUs",
        Type="Number",
        Default=64,
        MinValue=1,
        Description="Caps the vCPUs of GPU instances running at once.",
    )
    volume_size = stack.parameter(
        "Compute",
        "RootVolumeSize",
        "Disk GiB",
        Type="Number",
        Default=100,
        MinValue=30,
        Description="Encrypted root volume per instance; holds container images.",
    )
    stack.condition(INSTANCES, Or(Condition(EC2), Condition(GPU)))

    security_group = t.add_resource(
        ec2.SecurityGroup(
            # Batch jobs and the notebook: the same clients of the same services.
            "WorkloadSecurityGroup",
            GroupDescription="Metaflow workloads: no inbound traffic",
            VpcId=network.vpc_id,
            SecurityGroupEgress=network.egress,
        )
    )

    instance_role = roles.new(
        "BatchInstanceRole",
        "ec2.amazonaws.com",
        condition=INSTANCES,
        managed=[aws_managed_policy("service-role/AmazonEC2ContainerServiceforEC2Role")],
    )
    network.grant_cached_pulls(instance_role)
    instance_profile = t.add_resource(
        iam.InstanceProfile(
            "BatchInstanceProfile",
            Condition=INSTANCES,
            Roles=[instance_role.name],
        )
    )
    tags = Tags(Name=Ref("AWS::StackName"))
    launch_template = t.add_resource(
        ec2.LaunchTemplate(
            "BatchLaunchTemplate",
            Condition=INSTANCES,
            LaunchTemplateData=ec2.LaunchTemplateData(
                # Metaflow reads the instance identity from inside its container, one hop beyond
                # the instance: with a limit of 1 every task would wait for a timeout.
                MetadataOptions=ec2.MetadataOptions(
                    HttpTokens="required", HttpPutResponseHopLimit=2
                ),
                BlockDeviceMappings=[
                    ec2.LaunchTemplateBlockDeviceMapping(
                        DeviceName="/dev/xvda",
                        Ebs=ec2.EBSBlockDevice(
                            VolumeSize=volume_size, VolumeType="gp3", Encrypted=True
                        ),
                    )
                ],
                TagSpecifications=[
                    ec2.TagSpecifications(ResourceType=kind, Tags=tags)
                    for kind in ("instance", "volume")
                ],
            ),
        )
    )

    def environments(name, max_vcpus, types, condition=None, ec2_only=None, min_vcpus=0, **extra):
        """An on-demand compute environment and its Spot twin, as refs in queue order (Spot first).

        Where an `ec2_only` condition is given and fails, both run on Fargate instead.
        """

        def on_instances(value):
            return when(ec2_only, value) if ec2_only else value

        def kind(ec2_type, fargate_type):
            return If(ec2_only, ec2_type, fargate_type) if ec2_only else ec2_type

        spot_condition = (
            stack.condition(f"{name}Spot", And(Condition(condition), Condition(SPOT)))
            if condition
            else SPOT
        )
        refs = []
        for spot in (True, False):
            instances = dict(
                AllocationStrategy=SPOT_ALLOCATION if spot else "BEST_FIT_PROGRESSIVE",
                # Capacity kept warm belongs to the environment the queues try first.
                MinvCpus=min_vcpus if spot or not min_vcpus else If(SPOT, 0, min_vcpus),
                InstanceTypes=types,
                InstanceRole=Ref(instance_profile),
                LaunchTemplate=batch.LaunchTemplateSpecification(
                    LaunchTemplateId=Ref(launch_template),
                    # A new template version then updates the environments that use it.
                    Version=GetAtt(launch_template, "LatestVersionNumber"),
                ),
                **extra,
            )
            only_if = spot_condition if spot else condition
            environment = t.add_resource(
                batch.ComputeEnvironment(
                    f"{name}{'Spot' * spot}Compute",
                    Type="MANAGED",
                    ComputeResources=batch.ComputeResources(
                        Type=kind("SPOT", "FARGATE_SPOT") if spot else kind("EC2", "FARGATE"),
                        MaxvCpus=max_vcpus,
                        Subnets=network.subnet_ids,
                        SecurityGroupIds=[Ref(security_group)],
                        **{key: on_instances(value) for key, value in instances.items()},
                    ),
                    **({"Condition": only_if} if only_if else {}),
                )
            )
            refs.append(Ref(environment))
        return refs

    # One pair for CPU jobs, on EC2 or Fargate; GPU jobs get their own pair of EC2 environments.
    cpu_order = queue_order(
        *environments("Cpu", max_vcpus, instance_types, ec2_only=EC2, min_vcpus=min_vcpus)
    )
    gpu_order = queue_order(
        *environments(
            "Gpu",
            gpu_max_vcpus,
            gpu_types,
            condition=GPU,
            Ec2Configuration=[batch.Ec2ConfigurationObject(ImageType=GPU_IMAGE)],
        )
    )

    def queue(logical_id: str, priority: int, order: list, condition: str | None = None):
        kwargs = {"Condition": condition} if condition else {}
        return t.add_resource(
            batch.JobQueue(
                logical_id,
                Priority=priority,
                ComputeEnvironmentOrder=order,
                **kwargs,
            )
        )

    job_role = roles.new("BatchJobRole", "ecs-tasks.amazonaws.com")
    storage.grant_read_write(job_role)
    execution_role = roles.new(
        "FargateExecutionRole",
        "ecs-tasks.amazonaws.com",
        managed=[aws_managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")],
    )
    return Compute(
        # Batch serves the queue of higher priority first wherever two queues share capacity, so
        # a sweep in the bulk queue takes only what interactive work leaves free.
        job_queue=queue("JobQueue", DEFAULT_PRIORITY, cpu_order),
        bulk_queue=queue("BulkJobQueue", BULK_PRIORITY, cpu_order),
        gpu_queue=queue("GpuJobQueue", DEFAULT_PRIORITY, gpu_order, GPU),
        job_role=job_role,
        execution_role=execution_role,
        security_group=security_group,
    )


def queue_order(spot, on_demand) -> list:
    """Spot first where enabled, on-demand as the fallback."""
    return [
        when(SPOT, batch.ComputeEnvironmentOrder(Order=1, ComputeEnvironment=spot)),
        batch.ComputeEnvironmentOrder(Order=2, ComputeEnvironment=on_demand),
    ]
