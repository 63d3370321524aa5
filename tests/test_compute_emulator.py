"""gpu-spot.json deployed through CloudFormation; its Batch capacity read back through Batch."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from demo.deploy import deploy, load_parameters
from demo.run import Demo

GPU_FAMILIES = ("g", "p")
STACK = "mf-compute-gpu-spot"
QUEUES_FLOW = Path(__file__).parent / "flows" / "queues_flow.py"


@pytest.fixture(scope="module")
def gpu_spot(aws):
    outputs = deploy(STACK, load_parameters("gpu-spot"), session=aws)
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
    stack_environments = [e for e in environments.values() if STACK in e["computeEnvironmentName"]]
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
        if STACK in e["computeEnvironmentName"]
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


def test_metaflow_sends_each_step_to_its_queue(gpu_spot, emulator, aws, tmp_path):
    """`step-functions create` for the README's example, against the deployed gpu-spot stack: the
    state machine submits each step to the queue it names, the GPU step asking for a GPU."""
    outputs, _, _ = gpu_spot
    demo = Demo(emulator, tmp_path, aws, echo=lambda _: None)
    config = demo.configure(STACK)
    assert config["METAFLOW_BATCH_JOB_QUEUE"] == outputs["BatchJobQueueArn"]
    subprocess.run(
        [sys.executable, str(QUEUES_FLOW), "step-functions", "create"],
        cwd=tmp_path,
        env={
            **demo.environment(),
            "METAFLOW_SERVICE_VERSION_CHECK": "false",
            "BULK_QUEUE": outputs["BatchBulkJobQueueArn"],
            "GPU_QUEUE": outputs["BatchGpuJobQueueArn"],
        },
        check=True,
    )
    sfn = aws.client("stepfunctions")
    (arn,) = [
        m["stateMachineArn"]
        for m in sfn.list_state_machines()["stateMachines"]
        if m["name"] == f"{config['METAFLOW_SFN_STATE_MACHINE_PREFIX']}_QueuesFlow"
    ]
    states = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["States"]
    jobs = {name: state["Parameters"] for name, state in states.items()}
    assert {name: job["JobQueue"] for name, job in jobs.items()} == {
        "start": outputs["BatchBulkJobQueueArn"],
        "train": outputs["BatchGpuJobQueueArn"],
        "end": outputs["BatchJobQueueArn"],
    }
    gpus = {
        name: [
            r["Value"]
            for r in job["ContainerOverrides"].get("ResourceRequirements", [])
            if r["Type"] == "GPU"
        ]
        for name, job in jobs.items()
    }
    assert gpus == {"start": [], "train": ["1"], "end": []}
