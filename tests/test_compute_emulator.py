"""gpu-spot.json deployed through CloudFormation; its Batch capacity read back through Batch."""

import pytest

from demo.deploy import deploy, load_parameters

GPU_FAMILIES = ("g", "p")


@pytest.fixture(scope="module")
def gpu_spot(aws):
    outputs = deploy("mf-compute-gpu-spot", load_parameters("gpu-spot"), session=aws)
    batch = aws.client("batch")
    queues = {q["jobQueueArn"]: q for q in batch.describe_job_queues()["jobQueues"]}
    environments = {
        e["computeEnvironmentArn"]: e
        for e in batch.describe_compute_environments()["computeEnvironments"]
    }
    return outputs, queues, environments


def tried(queue: dict, environments: dict) -> list[dict]:
    """The compute resources a queue tries, first to last."""
    entries = sorted(queue["computeEnvironmentOrder"], key=lambda entry: entry["order"])
    return [environments[entry["computeEnvironment"]]["computeResources"] for entry in entries]


def test_every_queue_is_an_output(gpu_spot):
    outputs, queues, _ = gpu_spot
    for key in ("BatchJobQueueArn", "BatchBulkJobQueueArn", "BatchGpuJobQueueArn"):
        assert queues[outputs[key]]["state"] == "ENABLED", key


def test_cpu_queues_try_spot_then_on_demand_and_bulk_yields(gpu_spot):
    outputs, queues, environments = gpu_spot
    default, bulk = queues[outputs["BatchJobQueueArn"]], queues[outputs["BatchBulkJobQueueArn"]]
    assert default["computeEnvironmentOrder"] == bulk["computeEnvironmentOrder"]
    assert bulk["priority"] < default["priority"]
    spot, on_demand = tried(default, environments)
    assert (spot["type"], spot["allocationStrategy"]) == ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED")
    assert on_demand["type"] == "EC2"
    for resources in (spot, on_demand):
        assert not any(t.startswith(GPU_FAMILIES) for t in resources["instanceTypes"])
        assert "ec2Configuration" not in resources


def test_gpu_queue_runs_the_nvidia_image_on_gpu_instances(gpu_spot):
    outputs, queues, environments = gpu_spot
    spot, on_demand = tried(queues[outputs["BatchGpuJobQueueArn"]], environments)
    assert (spot["type"], spot["allocationStrategy"]) == ("SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED")
    assert on_demand["type"] == "EC2"
    for resources in (spot, on_demand):
        assert resources["ec2Configuration"] == [{"imageType": "ECS_AL2023_NVIDIA"}]
        assert resources["instanceTypes"] == ["g5", "g6", "g6e"]


def test_idle_stack_runs_no_instances(gpu_spot, aws):
    _, _, environments = gpu_spot
    stack_environments = [
        e for e in environments.values() if "mf-compute-gpu-spot" in e["computeEnvironmentName"]
    ]
    assert len(stack_environments) == 4
    assert all(e["computeResources"]["minvCpus"] == 0 for e in stack_environments)
    subnets = {s for e in stack_environments for s in e["computeResources"]["subnets"]}
    running = aws.client("ec2").describe_instances(
        Filters=[{"Name": "subnet-id", "Values": sorted(subnets)}]
    )["Reservations"]
    assert running == []


def test_instances_start_from_the_hardened_launch_template(gpu_spot, aws):
    _, _, environments = gpu_spot
    templates = {
        (
            e["computeResources"]["launchTemplate"]["launchTemplateId"],
            e["computeResources"]["launchTemplate"]["version"],
        )
        for e in environments.values()
        if "mf-compute-gpu-spot" in e["computeEnvironmentName"]
    }
    ((template_id, version),) = templates
    (described,) = aws.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=[version]
    )["LaunchTemplateVersions"]
    data = described["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"] == {"VolumeSize": 100, "VolumeType": "gp3", "Encrypted": True}
    assert {spec["ResourceType"] for spec in data["TagSpecifications"]} == {"instance", "volume"}
