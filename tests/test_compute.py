"""Batch capacity for each parameter combination: environments, queues, their order, images and
instance types, decided from the template alone (conditions evaluated by tools/cfn_eval.py).
"""

import itertools
import re

import pytest

from templates_src.compute import BULK_PRIORITY, CPU_TYPES, DEFAULT_PRIORITY, GPU_TYPES
from tools.cfn_eval import resources

ENVIRONMENT = "AWS::Batch::ComputeEnvironment"
QUEUE = "AWS::Batch::JobQueue"
COMBINATIONS = [
    {"ComputeType": compute, "EnableSpot": spot, "EnableGpu": gpu}
    for compute, spot, gpu in itertools.product(("EC2", "FARGATE"), *[("false", "true")] * 2)
]
IDS = [f"{c['ComputeType']}-spot={c['EnableSpot']}-gpu={c['EnableGpu']}" for c in COMBINATIONS]


def of_type(active: dict, type_name: str) -> dict:
    return {name: r["Properties"] for name, r in active.items() if r["Type"] == type_name}


def order(queue: dict) -> list[str]:
    """The environments a queue tries, first to last."""
    entries = sorted(queue["ComputeEnvironmentOrder"], key=lambda entry: entry["Order"])
    return [entry["ComputeEnvironment"]["Ref"] for entry in entries]


def expected_environments(params: dict) -> dict[str, str]:
    """Logical id -> compute resources type, as the issue specifies them."""
    fargate = params["ComputeType"] == "FARGATE"
    spot = params["EnableSpot"] == "true"
    expected = {"CpuCompute": "FARGATE" if fargate else "EC2"}
    if spot:
        expected["CpuSpotCompute"] = "FARGATE_SPOT" if fargate else "SPOT"
    if params["EnableGpu"] == "true":
        expected["GpuCompute"] = "EC2"
        if spot:
            expected["GpuSpotCompute"] = "SPOT"
    return expected


@pytest.mark.parametrize("params", COMBINATIONS, ids=IDS)
def test_environments_exist_as_the_parameters_say(template, params):
    environments = of_type(resources(template, params), ENVIRONMENT)
    types = {name: props["ComputeResources"]["Type"] for name, props in environments.items()}
    assert types == expected_environments(params)


@pytest.mark.parametrize("params", COMBINATIONS, ids=IDS)
def test_queues_try_spot_first_then_on_demand(template, params):
    queues = of_type(resources(template, params), QUEUE)
    spot = params["EnableSpot"] == "true"
    cpu = ["CpuSpotCompute", "CpuCompute"] if spot else ["CpuCompute"]
    expected = {"JobQueue": cpu, "BulkJobQueue": cpu}
    if params["EnableGpu"] == "true":
        expected["GpuJobQueue"] = ["GpuSpotCompute", "GpuCompute"] if spot else ["GpuCompute"]
    assert {name: order(queue) for name, queue in queues.items()} == expected


def test_bulk_queue_shares_capacity_and_yields(template):
    queues = of_type(resources(template, {"EnableSpot": "true"}), QUEUE)
    assert queues["BulkJobQueue"]["Priority"] == BULK_PRIORITY < DEFAULT_PRIORITY
    assert queues["JobQueue"]["Priority"] == DEFAULT_PRIORITY
    assert order(queues["BulkJobQueue"]) == order(queues["JobQueue"])


@pytest.mark.parametrize("params", COMBINATIONS, ids=IDS)
def test_spot_environments_use_price_capacity_optimised_allocation(template, params):
    environments = of_type(resources(template, params), ENVIRONMENT)
    for name, props in environments.items():
        strategy = props["ComputeResources"].get("AllocationStrategy")
        if props["ComputeResources"]["Type"] == "SPOT":
            assert strategy == "SPOT_PRICE_CAPACITY_OPTIMIZED", name
        elif props["ComputeResources"]["Type"] == "EC2":
            assert strategy == "BEST_FIT_PROGRESSIVE", name
        else:  # Fargate takes no instance settings at all
            assert set(props["ComputeResources"]) == {
                "Type",
                "MaxvCpus",
                "Subnets",
                "SecurityGroupIds",
            }, name


def test_gpu_environments_run_the_nvidia_image_and_only_they(template):
    environments = of_type(
        resources(template, {"EnableGpu": "true", "EnableSpot": "true"}), ENVIRONMENT
    )
    images = {
        name: [c["ImageType"] for c in props["ComputeResources"].get("Ec2Configuration", [])]
        for name, props in environments.items()
    }
    assert images == {
        "CpuCompute": [],
        "CpuSpotCompute": [],
        "GpuCompute": ["ECS_AL2023_NVIDIA"],
        "GpuSpotCompute": ["ECS_AL2023_NVIDIA"],
    }


def test_gpu_instance_types_appear_only_in_gpu_environments(template):
    environments = of_type(
        resources(template, {"EnableGpu": "true", "EnableSpot": "true"}), ENVIRONMENT
    )
    sources = {
        name: props["ComputeResources"]["InstanceTypes"]["Ref"]
        for name, props in environments.items()
    }
    assert sources == {
        "CpuCompute": "InstanceTypes",
        "CpuSpotCompute": "InstanceTypes",
        "GpuCompute": "GpuInstanceTypes",
        "GpuSpotCompute": "GpuInstanceTypes",
    }
    parameters = template["Parameters"]
    assert parameters["InstanceTypes"]["AllowedPattern"] == CPU_TYPES
    assert parameters["GpuInstanceTypes"]["AllowedPattern"] == GPU_TYPES
    for family in parameters["InstanceTypes"]["Default"].split(","):
        assert re.match(CPU_TYPES, family) and not re.match(GPU_TYPES, family), family
    for family in parameters["GpuInstanceTypes"]["Default"].split(","):
        assert re.match(GPU_TYPES, family) and not re.match(CPU_TYPES, family), family


@pytest.mark.parametrize(
    "value, cpu, gpu",
    [
        ("c7i", True, False),
        ("m7i.2xlarge", True, False),
        ("r7a", True, False),
        ("m7i-flex.large", True, False),
        ("g5", False, True),
        ("g6e.xlarge", False, True),
        ("g4dn", False, True),
        ("gr6", False, True),
        ("p5", False, True),
        ("p4d.24xlarge", False, True),
        ("optimal", False, False),  # Batch's "optimal" means old c4/m4/r4 families
        ("C7i", False, False),
        ("", False, False),
    ],
)
def test_instance_type_patterns(value, cpu, gpu):
    assert bool(re.match(CPU_TYPES, value)) == cpu
    assert bool(re.match(GPU_TYPES, value)) == gpu


@pytest.mark.parametrize("params", COMBINATIONS, ids=IDS)
def test_an_idle_stack_runs_nothing(template, params):
    for name, props in of_type(resources(template, params), ENVIRONMENT).items():
        assert props["ComputeResources"].get("MinvCpus", 0) in (0, {"Ref": "MinVCPUs"}), name
    assert template["Parameters"]["MinVCPUs"]["Default"] == 0


@pytest.mark.parametrize("spot", ["false", "true"])
def test_warm_capacity_goes_to_the_environment_tried_first(template, spot):
    active = resources(template, {"EnableSpot": spot, "EnableGpu": "true"})
    first = order(active["JobQueue"]["Properties"])[0]
    warm = {
        name
        for name, props in of_type(active, ENVIRONMENT).items()
        if props["ComputeResources"]["MinvCpus"] == {"Ref": "MinVCPUs"}
    }
    assert warm == {first}


def test_fargate_with_gpu_still_starts_instances_for_gpu_jobs_only(template):
    active = resources(template, {"ComputeType": "FARGATE", "EnableGpu": "true"})
    assert {"BatchInstanceProfile", "BatchLaunchTemplate", "BatchInstanceRole"} <= set(active)
    assert "LaunchTemplate" not in active["CpuCompute"]["Properties"]["ComputeResources"]
    fargate_only = resources(template, {"ComputeType": "FARGATE"})
    assert not {"BatchInstanceProfile", "BatchLaunchTemplate", "BatchInstanceRole"} & set(
        fargate_only
    )


def test_every_instance_starts_from_the_hardened_launch_template(template):
    active = resources(template, {"EnableGpu": "true", "EnableSpot": "true"})
    data = active["BatchLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"] == {
        "VolumeSize": {"Ref": "RootVolumeSize"},
        "VolumeType": "gp3",
        "Encrypted": True,
    }
    assert template["Parameters"]["RootVolumeSize"]["Default"] >= 100
    assert {spec["ResourceType"] for spec in data["TagSpecifications"]} == {"instance", "volume"}
    for name, props in of_type(active, ENVIRONMENT).items():
        launch = props["ComputeResources"]["LaunchTemplate"]
        assert launch["LaunchTemplateId"] == {"Ref": "BatchLaunchTemplate"}, name
        # A template change must reach the environments, which "$Latest" would not do.
        assert launch["Version"] == {"Fn::GetAtt": ["BatchLaunchTemplate", "LatestVersionNumber"]}


@pytest.mark.parametrize("gpu", ["false", "true"])
@pytest.mark.parametrize("holder", ["MetaflowUserPolicy", "StepFunctionsRole"])
def test_submitting_is_allowed_on_every_queue_and_no_other(template, gpu, holder):
    active = resources(template, {"EnableGpu": gpu})
    queues = {name for name, r in active.items() if r["Type"] == QUEUE}
    resource = active[holder]["Properties"]
    statements = (
        resource["PolicyDocument"]["Statement"]
        if "PolicyDocument" in resource
        else [s for p in resource["Policies"] for s in p["PolicyDocument"]["Statement"]]
    )
    (submit,) = [s for s in statements if "batch:SubmitJob" in s["Action"]]
    refs = {r["Ref"] for r in submit["Resource"] if isinstance(r, dict) and "Ref" in r}
    assert refs == queues


def test_queues_are_outputs(template):
    outputs = template["Outputs"]
    assert outputs["BatchJobQueueArn"]["Value"] == {"Ref": "JobQueue"}
    assert outputs["BatchBulkJobQueueArn"]["Value"] == {"Ref": "BulkJobQueue"}
    assert outputs["BatchGpuJobQueueArn"]["Value"] == {"Ref": "GpuJobQueue"}
    assert outputs["BatchGpuJobQueueArn"]["Condition"] == "EnableGpu"
