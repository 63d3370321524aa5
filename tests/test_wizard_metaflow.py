"""The proof that matters: Metaflow, reading only the file the wizard wrote, runs a flow whose
artifacts land in the emulated stack's bucket and reads them back through its client API.

The emulator runs no containers, so there is no metadata service: the flow runs with
--metadata=local. Everything else (datastore, bucket, S3 endpoint) comes from the written profile;
the Metaflow processes get AWS credentials and a region but no AWS_ENDPOINT_URL."""

import json
import os
import subprocess
import sys
from pathlib import Path

from demo.deploy import deploy, load_parameters
from wizard import cli

FLOW = Path(__file__).parent / "flows" / "wizard_flow.py"
READ_BACK = """
import json
from metaflow import Flow, metadata, namespace
metadata("local")
namespace(None)
run = Flow("WizardFlow").latest_successful_run
print(json.dumps({"id": run.id, "values": run["start"].task.data.values,
                  "total": run.data.total}))
"""


def metaflow_env(emulator, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "METAFLOW_"))}
    aws = {k: v for k, v in emulator.environment().items() if k != "AWS_ENDPOINT_URL"}
    return {
        **env,
        **aws,
        "METAFLOW_HOME": str(home),
        "METAFLOW_PROFILE": "emulator",
        "USERNAME": "wizard-test",
    }


def test_metaflow_runs_a_flow_on_the_configured_stack(aws, emulator, tmp_path, monkeypatch):
    outputs = deploy("wizard-metaflow", load_parameters("default"), session=aws)
    home = tmp_path / "mfhome"
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    args = ["--stack", "wizard-metaflow", "--profile", "emulator", "--endpoint-url", emulator.url]
    assert cli.main(args) == 0

    env = metaflow_env(emulator, home)
    run = subprocess.run(
        [sys.executable, str(FLOW), "--metadata=local", "run", "--numbers", "3,1,4"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    read = subprocess.run(
        [sys.executable, "-c", READ_BACK],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert read.returncode == 0, read.stderr[-3000:]
    artifacts = json.loads(read.stdout.splitlines()[-1])
    assert artifacts["values"] == [3, 1, 4] and artifacts["total"] == 26

    bucket, prefix = outputs["MetaflowDataStoreS3Url"].removeprefix("s3://").split("/", 1)
    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/WizardFlow/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert any(f"/{artifacts['id']}/" in k for k in keys), keys[:5]
