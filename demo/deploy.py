"""Deploy the generated template through CloudFormation, as a user does against AWS.

The calls are those `aws cloudformation deploy` makes (a change set, created and executed), so the
same code serves AWS and the local emulator; only the endpoint differs.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "generated" / "metaflow.json"
PARAMS_DIR = ROOT / "generated" / "params"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


class DeployError(RuntimeError):
    pass


def load_parameters(name: str, overrides: dict[str, str] | None = None) -> list[dict]:
    """The named parameter file from generated/params/, with `overrides` applied."""
    rows = json.loads((PARAMS_DIR / f"{name}.json").read_text())
    values = {row["ParameterKey"]: row["ParameterValue"] for row in rows}
    values.update(overrides or {})
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def existing_network(session: boto3.Session) -> dict[str, str]:
    """A VPC with two subnets in different zones, as a user's existing network."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(zones)
    ]
    return {
        "ExistingVpcId": vpc,
        "ExistingSubnetIds": ",".join(subnets),
        "ExistingVpcCidr": "10.42.0.0/16",
    }


def deploy(
    stack_name: str,
    parameters: list[dict],
    session: boto3.Session | None = None,
    template_body: str | None = None,
    on_event: Callable[[dict], None] | None = None,
    timeout: float = 600.0,
) -> dict[str, str]:
    """Create or update `stack_name`; return its outputs. Raises DeployError on failure."""
    cfn = (session or boto3.Session()).client("cloudformation")
    body = template_body if template_body is not None else TEMPLATE.read_text()
    exists = _stack_exists(cfn, stack_name)
    change_set = f"deploy-{int(time.time() * 1000)}"
    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName=change_set,
        TemplateBody=body,
        Parameters=parameters,
        Capabilities=CAPABILITIES,
        ChangeSetType="UPDATE" if exists else "CREATE",
    )
    _wait_for_change_set(cfn, stack_name, change_set, timeout)
    started = time.time()
    cfn.execute_change_set(StackName=stack_name, ChangeSetName=change_set)
    stack = _wait_for_stack(cfn, stack_name, started, on_event, timeout)
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        raise DeployError(
            f"stack {stack_name} ended {stack['StackStatus']}: {stack.get('StackStatusReason')}"
        )
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _stack_exists(cfn, stack_name: str) -> bool:
    try:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except cfn.exceptions.ClientError:
        return False
    return stack["StackStatus"] != "REVIEW_IN_PROGRESS"


def _wait_for_change_set(cfn, stack_name: str, change_set: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = cfn.describe_change_set(StackName=stack_name, ChangeSetName=change_set)
        if described["Status"] == "CREATE_COMPLETE":
            return
        if described["Status"] == "FAILED":
            raise DeployError(f"change set failed: {described.get('StatusReason')}")
        time.sleep(0.2)
    raise DeployError(f"change set for {stack_name} not ready after {timeout:.0f}s")


def _wait_for_stack(cfn, stack_name: str, started: float, on_event, timeout: float) -> dict:
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        if on_event:
            events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
            for event in reversed(events):
                if event["EventId"] not in seen and event["Timestamp"].timestamp() >= started - 1:
                    seen.add(event["EventId"])
                    on_event(event)
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        if time.monotonic() > deadline:
            raise DeployError(f"stack {stack_name} still {stack['StackStatus']} after {timeout}s")
        time.sleep(0.3)
