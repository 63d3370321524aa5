"""`make demo` end to end, per parameter file: deploy, configure with the wizard, run the branch
flow against the emulated bucket, deploy the scheduled flow to Step Functions. The steps are the
demo's own (demo/run.py); one emulator serves the whole session."""

import pytest

from demo.deploy import PARAMS_DIR
from demo.run import Demo

PARAMS = sorted(path.stem for path in PARAMS_DIR.glob("*.json"))


@pytest.mark.parametrize("params", PARAMS)
def test_demo_end_to_end(params, emulator, aws, tmp_path):
    demo = Demo(emulator, tmp_path, aws, echo=lambda _: None)
    stack_name = f"demo-{params}"
    outputs = demo.deploy_stack(params, stack_name)

    config = demo.configure(stack_name)
    assert config["METAFLOW_DATASTORE_SYSROOT_S3"] == outputs["MetaflowDataStoreS3Url"]
    assert config["METAFLOW_S3_ENDPOINT_URL"] == demo.emulator.url

    pathspec = demo.run_branch_flow()
    run = demo.read_run(pathspec)
    assert run["successful"]
    assert run["steps"] == ["end", "join", "largest", "start", "total"]
    assert run["data"]["total"]["result"] == 31
    assert run["data"]["largest"]["result"] == 9
    assert run["data"]["join"]["summary"] == {"total": 31, "largest": 9}
    # The artifacts the client read are objects in the stack's bucket, not local files.
    bucket, _, root = outputs["MetaflowDataStoreS3Url"].removeprefix("s3://").partition("/")
    stored = demo.session.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{root}/BranchFlow/")
    assert stored.get("KeyCount", 0) > 0
    assert not (demo.workdir / ".metaflow" / "BranchFlow" / "data").exists()

    machine = demo.create_state_machine()
    assert machine.role_arn == outputs["StepFunctionsRoleArn"]
    assert list(machine.definition["States"]) == ["start", "end"]
    job = machine.definition["States"]["start"]
    assert job["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert job["Parameters"]["JobQueue"] == outputs["BatchJobQueueArn"]
    assert machine.rule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert machine.rule["State"] == "ENABLED"
    (target,) = machine.targets
    assert target["Arn"] == machine.arn
    assert target["RoleArn"] == outputs["EventBridgeRoleArn"]
    # The tasks would record metadata in the stack's service, as on AWS: local metadata was the
    # flow run's concession to the emulator only.
    (command,) = [c for c in job["Parameters"]["ContainerOverrides"]["Command"] if "--with" in c]
    assert "--metadata=service" in command
    assert outputs["ECSJobRoleForBatchJobs"] in command
