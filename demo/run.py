"""The whole stack, tried locally: deploy into the emulator, configure Metaflow, run real flows.

    python -m demo.run --params default       # what `make demo` runs

Each step is a method of `Demo`, so the end-to-end tests run exactly what the demo runs. Everything
the demo writes goes into one temporary directory (METAFLOW_HOME, Metaflow's local metadata, the
flows' working directory); the emulator is stopped on success, failure and Ctrl-C.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3

from demo.deploy import PARAMS_DIR, ROOT, deploy, existing_network, load_parameters
from demo.emulator import REGION, Emulator

EXAMPLES = ROOT / "examples"
BRANCH_FLOW = EXAMPLES / "branch_flow.py"
SCHEDULED_FLOW = EXAMPLES / "scheduled_flow.py"
PROFILE = "demo"
USERNAME = "demo"

# Reads a run back through Metaflow's client API, in a process that has the demo's environment; the
# metadata is local, as the run's was.
_READ_RUN = """
import json, sys
from metaflow import Run, metadata, namespace
metadata("local")
namespace(None)
run = Run(sys.argv[1])
print(json.dumps({
    "successful": run.successful,
    "steps": sorted(step.id for step in run),
    "data": {
        step.id: {a.id: a.data for a in step.task if not a.id.startswith("_") and a.id != "name"}
        for step in run
    },
}, default=str))
"""


@dataclass
class StateMachine:
    name: str
    arn: str
    role_arn: str
    definition: dict
    rule: dict
    targets: list[dict]


@dataclass
class Demo:
    """One demo session: an emulator that is already running, and a working directory."""

    emulator: Emulator
    workdir: Path
    # Reaches the emulator (AWS_ENDPOINT_URL is set in this process, see main()).
    session: boto3.Session
    echo: Callable[[str], None] = print
    profile: str = PROFILE

    def __post_init__(self) -> None:
        self.metaflow_home = self.workdir / "metaflow-home"
        self.metaflow_home.mkdir(parents=True, exist_ok=True)

    @property
    def config_path(self) -> Path:
        return self.metaflow_home / f"config_{self.profile}.json"

    def environment(self) -> dict[str, str]:
        """The environment the wizard and Metaflow run in: the emulator instead of AWS, the demo
        profile instead of the user's own config. Inherited AWS_* and METAFLOW_* settings are
        dropped so that nothing of the user's reaches (or is reached by) the demo."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "METAFLOW_"))}
        tmp = self.workdir / "tmp"
        tmp.mkdir(exist_ok=True)
        return {
            **inherited,
            **self.emulator.environment(),
            # No shared AWS config or credentials files: the emulator's keys are the only ones.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "METAFLOW_HOME": str(self.metaflow_home),
            "METAFLOW_PROFILE": self.profile,
            "USERNAME": USERNAME,
            "TMPDIR": str(tmp),
        }

    def _run(
        self, args: list[str], capture: bool = False, env: dict[str, str] | None = None
    ) -> str:
        """Run a command in the demo's environment and working directory, where Metaflow puts its
        .metaflow/ folder; its output streams through unless captured."""
        # A session of its own, so that on Ctrl-C or an error the command and every process it
        # started (Metaflow runs each task as one) are stopped together, not left talking to a
        # stopped emulator.
        process = subprocess.Popen(
            args,
            cwd=self.workdir,
            env={**self.environment(), **(env or {})},
            text=True,
            stdout=subprocess.PIPE if capture else None,
            start_new_session=True,
        )
        try:
            stdout, _ = process.communicate()
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        if process.returncode:
            command = " ".join(Path(a).name if a.startswith("/") else a for a in args[1:4])
            raise DemoError(f"{command} ... exited with code {process.returncode}")
        return stdout or ""

    # -- the steps ------------------------------------------------------------------------------

    def deploy_stack(self, params: str, stack_name: str) -> dict[str, str]:
        """Deploy generated/metaflow.json with generated/params/<params>.json; return the outputs.
        A params file that names an existing VPC gets one made in the emulator first."""
        parameters = load_parameters(params)
        if any(p["ParameterKey"] == "ExistingVpcId" for p in parameters):
            network = existing_network(self.session)
            self.echo(f"  made a VPC for it to use: {network['ExistingVpcId']}")
            parameters = load_parameters(params, network)
        self.echo(f"  template generated/metaflow.json, parameters generated/params/{params}.json")
        started = time.monotonic()

        def on_event(event: dict) -> None:
            elapsed = time.monotonic() - started
            self.echo(
                f"  {elapsed:5.1f}s  {event['ResourceStatus']:<18} "
                f"{event['ResourceType']:<42} {event['LogicalResourceId']}"
            )

        outputs = deploy(stack_name, parameters, session=self.session, on_event=on_event)
        self.echo("  outputs:")
        width = max(map(len, outputs))
        for key in sorted(outputs):
            self.echo(f"    {key:<{width}}  {outputs[key]}")
        return outputs

    def configure(self, stack_name: str) -> dict[str, str]:
        """Run the configure wizard non-interactively, as a user would after deploying."""
        self._run(
            [
                sys.executable,
                "-m",
                "wizard",
                "--stack",
                stack_name,
                "--region",
                REGION,
                "--profile",
                self.profile,
                "--yes",
                # Also written into the config as METAFLOW_S3_ENDPOINT_URL for Metaflow's S3 client.
                "--endpoint-url",
                self.emulator.url,
            ]
        )
        if not self.config_path.exists():
            raise DemoError(f"the wizard wrote no {self.config_path}")
        return json.loads(self.config_path.read_text())

    def run_branch_flow(self) -> str:
        """Run the branch-and-join flow with the S3 datastore on the emulator's bucket; return the
        run's pathspec. Metadata is local: the emulator runs no containers, so the stack's metadata
        service does not exist here."""
        run_id_file = self.workdir / "branch_flow.run-id"
        self._run(
            [
                sys.executable,
                str(BRANCH_FLOW),
                "--metadata=local",
                "run",
                "--run-id-file",
                str(run_id_file),
            ]
        )
        return f"BranchFlow/{run_id_file.read_text().strip()}"

    def read_run(self, pathspec: str) -> dict:
        """A run's steps and artifacts, read back through Metaflow's client API."""
        return json.loads(self._run([sys.executable, "-c", _READ_RUN, pathspec], capture=True))

    def create_state_machine(self) -> StateMachine:
        """`step-functions create` for the scheduled flow; return what Step Functions and
        EventBridge now hold. The metadata service's version check is skipped, as there is no
        service to ask; the state machine is the one AWS would hold, its tasks recording metadata
        in the stack's service."""
        self._run(
            [sys.executable, str(SCHEDULED_FLOW), "step-functions", "create"],
            env={"METAFLOW_SERVICE_VERSION_CHECK": "false"},
        )
        sfn = self.session.client("stepfunctions")
        prefix = self.config().get("METAFLOW_SFN_STATE_MACHINE_PREFIX")
        name = f"{prefix}_ScheduledFlow" if prefix else "ScheduledFlow"
        arn = next(
            m["stateMachineArn"]
            for m in sfn.list_state_machines()["stateMachines"]
            if m["name"] == name
        )
        described = sfn.describe_state_machine(stateMachineArn=arn)
        events = self.session.client("events")
        return StateMachine(
            name,
            arn,
            described["roleArn"],
            json.loads(described["definition"]),
            events.describe_rule(Name=name),
            events.list_targets_by_rule(Rule=name)["Targets"],
        )

    def config(self) -> dict[str, str]:
        return json.loads(self.config_path.read_text())

    def walkthrough(self, params: str) -> None:
        """The demo: every step in order, narrated, then the summary."""
        stack_name = f"metaflow-{params}"
        self.echo(f"\n== 1/4 Deploying stack {stack_name} into the emulator ({self.emulator.url})")
        outputs = self.deploy_stack(params, stack_name)

        self.echo(f"\n== 2/4 Configuring Metaflow: python -m wizard --stack {stack_name} ...")
        config = self.configure(stack_name)
        self.echo(f"  profile {self.profile!r}: {self.config_path} ({len(config)} keys)")

        self.echo("\n== 3/4 Running examples/branch_flow.py (branch and join)")
        self.echo(
            "  The emulator runs no containers, so the stack's metadata service is not running:"
            "\n  this run records metadata locally (--metadata=local). Its artifacts go to the"
            f"\n  stack's bucket, {config['METAFLOW_DATASTORE_SYSROOT_S3']}, through the emulator."
        )
        pathspec = self.run_branch_flow()
        run = self.read_run(pathspec)
        self.echo(f"  read back through Metaflow's client API: {pathspec} -> {run['data']['join']}")

        self.echo("\n== 4/4 Deploying examples/scheduled_flow.py to Step Functions")
        self.echo(
            "  With the profile's metadata service, whose version check is skipped here"
            "\n  (METAFLOW_SERVICE_VERSION_CHECK=false): there is no service to ask."
        )
        machine = self.create_state_machine()
        states = ", ".join(machine.definition["States"])
        self.echo(f"  state machine {machine.arn}\n    states: {states}")
        self.echo(
            f"  EventBridge rule {machine.rule['Name']}: {machine.rule['ScheduleExpression']},"
            f" {machine.rule['State']}"
        )
        self.summary(stack_name, params, outputs, pathspec, machine)

    def summary(self, stack_name, params, outputs, pathspec, machine: StateMachine) -> None:
        self.echo(
            f"""
== Done. In the emulator:
  stack          {stack_name}, datastore {outputs["MetaflowDataStoreS3Url"]}
  flow run       {pathspec}
  state machine  {machine.name}, started by EventBridge rule {machine.rule["Name"]}
  Metaflow config (profile {self.profile!r}): {self.config_path}
  Everything the demo wrote is under {self.workdir}; the emulator is stopped now.

The same on AWS (credentials for your account in the environment):
  aws cloudformation deploy --stack-name metaflow --template-file generated/metaflow.json \\
    --parameter-overrides file://generated/params/{params}.json --capabilities CAPABILITY_IAM
  python -m wizard --stack metaflow
  python examples/branch_flow.py run
  python examples/scheduled_flow.py step-functions create"""
        )


class DemoError(RuntimeError):
    pass


def _interrupt(signum, frame) -> None:
    # SIGTERM (a closed terminal, a CI timeout) unwinds like Ctrl-C, through every `finally`.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="default", help="a file in generated/params/")
    args = parser.parse_args(argv)
    if not (PARAMS_DIR / f"{args.params}.json").exists():
        choices = ", ".join(sorted(path.stem for path in PARAMS_DIR.glob("*.json")))
        parser.error(f"no generated/params/{args.params}.json; one of: {choices}")
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    saved_environment = dict(os.environ)
    workdir = Path(tempfile.mkdtemp(prefix="metaflow-demo-"))
    emulator = Emulator(log_path=workdir / "emulator.log")
    started = time.monotonic()
    try:
        emulator.start()
        # This process talks to the emulator only (boto3 reads the endpoint from the environment),
        # with the emulator's keys and no AWS profile of the user's.
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[key]
        os.environ.update(emulator.environment())
        demo = Demo(emulator, workdir, boto3.Session(region_name=REGION))
        demo.walkthrough(args.params)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the emulator", file=sys.stderr)
        return 130
    except RuntimeError as error:  # DemoError, DeployError, the emulator's
        print(f"\ndemo failed: {error}\n  emulator log: {emulator.log_path}", file=sys.stderr)
        return 1
    finally:
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        signal.signal(signal.SIGTERM, previous_handler)
    print(f"\n(demo took {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
