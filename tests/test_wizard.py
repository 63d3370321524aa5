"""The configure wizard against a stack deployed into the emulator: what it writes, how it merges,
how it refuses bad input, and its interactive path driven through real prompts."""

import codecs
import fcntl
import io
import json
import os
import pty
import re
import select
import stat
import struct
import subprocess
import sys
import termios
import time
import types
from types import SimpleNamespace

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from demo.deploy import deploy, load_parameters
from templates_src.contract import FIXED_CONFIG, OUTPUTS
from wizard import cli
from wizard.stack import AUTH_KEY, Aws, candidates

DOWN, UP, ENTER, CTRL_C = "\x1b[B", "\x1b[A", "\r", "\x03"
UPSTREAM_REQUIRED = {
    "MetaflowDataStoreS3Url": "s3://upstream-bucket/metaflow",
    "MetaflowDataToolsS3Url": "s3://upstream-bucket/data",
    "BatchJobQueueArn": "arn:aws:batch:us-east-1:123456789012:job-queue/upstream",
    "ECSJobRoleForBatchJobs": "arn:aws:iam::123456789012:role/upstream-batch",
    "ServiceUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/api/",
    "InternalServiceUrl": "http://upstream-nlb.elb.us-east-1.amazonaws.com/",
    "EventBridgeRoleArn": "arn:aws:iam::123456789012:role/upstream-events",
    "StepFunctionsRoleArn": "arn:aws:iam::123456789012:role/upstream-sfn",
    "DDBTableName": "upstream-table",
}


@pytest.fixture(scope="module")
def stack(aws) -> tuple[str, dict[str, str]]:
    name = "wizard-default"
    return name, deploy(name, load_parameters("default"), session=aws)


@pytest.fixture(scope="module")
def api_key(aws, stack) -> str:
    key_id = stack[1]["ApiKeyId"]
    return aws.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "mfhome"
    monkeypatch.setenv("METAFLOW_HOME", str(path))
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    return path


def small_stack(aws, name: str, outputs: dict[str, dict]) -> None:
    """A stack that only carries outputs, the way a stack built from another template would."""
    template = {
        "Resources": {
            "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "Key": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": True}},
        },
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    deploy(name, [], session=aws, template_body=json.dumps(template))


def expected_config(outputs: dict[str, str], key_value: str | None) -> dict[str, str]:
    """The config the contract says these outputs make."""
    config = dict(FIXED_CONFIG)
    for row in OUTPUTS:
        if row.config_key and outputs.get(row.name):
            config[row.config_key] = key_value if row.api_key_id else outputs[row.name]
    return config


def run(capsys, *argv, session=None) -> tuple[int, str, str]:
    code = cli.main(list(argv), session=session)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def files(home) -> dict[str, str]:
    return {p.name: p.read_text() for p in home.iterdir()} if home.exists() else {}


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fail_call(session: boto3.Session, event: str, status: int, code: str) -> boto3.Session:
    """Answer one API call the way AWS answers a caller it refuses (the emulator enforces no
    IAM): botocore short-circuits a call when a before-call handler returns a response."""

    def refuse(**_):
        return SimpleNamespace(status_code=status, headers={}), {
            "Error": {"Code": code, "Message": f"User is not authorized to perform {event}"}
        }

    session.events.register(f"before-call.{event}", refuse)
    return session


def with_status(session: boto3.Session, status: str) -> boto3.Session:
    """Stacks reported in `status`: the emulator never fails or rolls back a stack."""

    def rewrite(parsed, **_):
        for described in parsed.get("Stacks", []):
            described["StackStatus"] = status

    session.events.register("after-call.cloudformation.DescribeStacks", rewrite)
    return session


# What it writes


def test_written_config_is_the_stack_outputs_through_the_contract(capsys, home, stack, api_key):
    name, outputs = stack
    code, out, err = run(capsys, "--stack", name)
    assert (code, err) == (0, "")
    written = json.loads((home / "config.json").read_text())
    assert written == expected_config(outputs, api_key)
    assert written[AUTH_KEY] == api_key
    assert written["METAFLOW_DEFAULT_METADATA"] == "service"
    assert mode(home / "config.json") == 0o600
    assert api_key not in out


def test_named_profile_gets_its_own_file(capsys, home, stack):
    code, _, _ = run(capsys, "--stack", stack[0], "--profile", "team")
    assert code == 0
    assert sorted(files(home)) == ["config_team.json"]


def test_merge_keeps_the_users_keys_and_backs_up_the_old_file(capsys, home, stack, api_key):
    home.mkdir()
    old = {
        "METAFLOW_BATCH_CONTAINER_IMAGE": "python:3.11",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://another-stack/metaflow",
        "METAFLOW_SERVICE_AUTH_KEY": "an-old-key-of-another-stack",
    }
    (home / "config.json").write_text(json.dumps(old))
    code, out, _ = run(capsys, "--stack", stack[0], "--yes")
    assert code == 0
    written = json.loads((home / "config.json").read_text())
    assert written == {
        **expected_config(stack[1], api_key),
        "METAFLOW_BATCH_CONTAINER_IMAGE": "python:3.11",
    }
    backups = [p for p in home.iterdir() if p.name.endswith(".bak")]
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == old
    assert mode(backups[0]) == 0o600 and mode(home / "config.json") == 0o600
    assert backups[0].name in out
    assert not [p for p in home.iterdir() if p.name.endswith(".tmp")]


def test_a_second_backup_does_not_replace_the_first(capsys, home, stack):
    for _ in range(3):
        home.mkdir(exist_ok=True)
        (home / "config.json").write_text(json.dumps({"METAFLOW_USER": str(len(files(home)))}))
        assert run(capsys, "--stack", stack[0], "--yes")[0] == 0
    assert len([n for n in files(home) if n.endswith(".bak")]) == 3


def test_unchanged_config_is_not_rewritten(capsys, home, stack):
    assert run(capsys, "--stack", stack[0])[0] == 0
    code, out, _ = run(capsys, "--stack", stack[0])
    assert code == 0 and "nothing to write" in out
    assert sorted(files(home)) == ["config.json"]


def test_print_writes_no_file_and_masks_the_key(capsys, home, stack, api_key):
    code, out, _ = run(capsys, "--stack", stack[0], "--print")
    assert code == 0 and files(home) == {}
    printed = json.loads(out)
    assert api_key not in out and printed[AUTH_KEY].startswith("****")
    assert printed == {**expected_config(stack[1], api_key), AUTH_KEY: printed[AUTH_KEY]}

    code, out, _ = run(capsys, "--stack", stack[0], "--print", "--show-secrets")
    assert json.loads(out) == expected_config(stack[1], api_key)


def test_endpoint_url_is_written_for_metaflows_s3_client(capsys, home, stack, emulator):
    code, _, _ = run(capsys, "--stack", stack[0], "--endpoint-url", emulator.url)
    assert code == 0
    written = json.loads((home / "config.json").read_text())
    assert written["METAFLOW_S3_ENDPOINT_URL"] == emulator.url


def test_upstream_template_outputs_are_understood(capsys, aws, home):
    """Stacks built from the upstream Metaflow template carry the required rows under the same
    names; rows it lacks are absent, and owned keys it does not set are not left behind."""
    small_stack(aws, "wizard-upstream", {**UPSTREAM_REQUIRED, "ApiKeyId": {"Ref": "Key"}})
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"METAFLOW_CARD_S3ROOT": "s3://stale/cards"}))
    code, _, err = run(capsys, "--stack", "wizard-upstream", "--yes")
    assert (code, err) == (0, "")
    outputs = aws.client("cloudformation").describe_stacks(StackName="wizard-upstream")
    key_id = next(o for o in outputs["Stacks"][0]["Outputs"] if o["OutputKey"] == "ApiKeyId")
    key = aws.client("apigateway").get_api_key(apiKey=key_id["OutputValue"], includeValue=True)
    written = json.loads((home / "config.json").read_text())
    assert written == expected_config({**UPSTREAM_REQUIRED, "ApiKeyId": "id"}, key["value"])


def test_stack_without_api_key_writes_no_auth_key(capsys, aws, home):
    small_stack(aws, "wizard-nokey", UPSTREAM_REQUIRED)
    assert run(capsys, "--stack", "wizard-nokey")[0] == 0
    assert AUTH_KEY not in json.loads((home / "config.json").read_text())


def test_stacks_carrying_the_outputs_are_the_candidates(aws, stack):
    small_stack(aws, "wizard-unrelated", {"Something": "else"})
    names = candidates(Aws(aws, "us-east-1"))
    assert stack[0] in names and "wizard-unrelated" not in names


def test_throttling_is_retried_not_reported(capsys, home, stack):
    """Each attempt passes botocore's before-send event; the first two are answered Throttling."""
    attempts = []
    body = b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message>"
    body += b"</Error></ErrorResponse>"

    def throttle(request, **_):
        attempts.append(request.url)
        if len(attempts) <= 2:
            return AWSResponse(request.url, 400, {}, SimpleNamespace(stream=lambda **_: [body]))
        return None

    session = boto3.Session()
    session.events.register("before-send.cloudformation.DescribeStacks", throttle)
    code, _, err = run(capsys, "--stack", stack[0], session=session)
    assert (code, err, len(attempts)) == (0, "", 3)
    assert (home / "config.json").exists()


# Bad input: one line on stderr, non-zero exit, nothing written


def assert_refused(result, home, before: dict, *phrases: str) -> None:
    code, _, err = result
    assert code != 0
    assert err.startswith("wizard: ") and err.count("\n") == 1, err
    for phrase in phrases:
        assert phrase in err
    assert files(home) == before


def test_stack_not_found(capsys, home, stack):
    assert_refused(run(capsys, "--stack", "no-such-stack"), home, {}, "not found", "us-east-1")


def test_region_without_the_stack(capsys, home, stack):
    result = run(capsys, "--stack", stack[0], "--region", "eu-west-1")
    assert_refused(result, home, {}, "not found in region eu-west-1")


def test_missing_required_outputs(capsys, aws, home):
    partial = {
        k: v for k, v in UPSTREAM_REQUIRED.items() if k not in ("ServiceUrl", "DDBTableName")
    }
    small_stack(aws, "wizard-partial", partial)
    result = run(capsys, "--stack", "wizard-partial")
    assert_refused(result, home, {}, "ServiceUrl, DDBTableName")


def test_stack_in_review_is_refused(capsys, aws, home):
    aws.client("cloudformation").create_change_set(
        StackName="wizard-review",
        ChangeSetName="never-executed",
        TemplateBody=json.dumps({"Resources": {"H": {"Type": "AWS::SNS::Topic"}}}),
        ChangeSetType="CREATE",
    )
    assert_refused(run(capsys, "--stack", "wizard-review"), home, {}, "REVIEW_IN_PROGRESS")


@pytest.mark.parametrize(
    "status",
    ["CREATE_FAILED", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS"],
)
def test_failed_rolled_back_or_busy_stack_is_refused(capsys, home, stack, status):
    session = with_status(boto3.Session(), status)
    assert_refused(run(capsys, "--stack", stack[0], session=session), home, {}, status)


def test_no_credentials(capsys, home, stack, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert_refused(run(capsys, "--stack", stack[0]), home, {}, "no AWS credentials")


@pytest.mark.parametrize(
    ("content", "phrase"),
    [("{not json", "not valid JSON"), ("[1, 2]", "not a JSON object")],
)
def test_malformed_existing_config_is_reported_not_overwritten(
    capsys, home, stack, content, phrase
):
    home.mkdir()
    (home / "config.json").write_text(content)
    result = run(capsys, "--stack", stack[0], "--yes")
    assert_refused(result, home, {"config.json": content}, phrase)


def test_unreadable_existing_config(capsys, home, stack):
    (home / "config.json").mkdir(parents=True)
    code, _, err = run(capsys, "--stack", stack[0], "--yes")
    assert code == 1 and "cannot read" in err and err.count("\n") == 1
    assert (home / "config.json").is_dir()


def test_unwritable_metaflow_home(capsys, tmp_path, monkeypatch, stack):
    # A file where the directory should be: unwritable even for root, who ignores permissions.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("METAFLOW_HOME", str(blocker))
    code, _, err = run(capsys, "--stack", stack[0])
    assert code == 1 and err.startswith("wizard: cannot write in") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == [blocker] and blocker.read_text() == ""


def test_existing_file_is_not_overwritten_without_yes(capsys, home, stack):
    home.mkdir()
    (home / "config.json").write_text("{}")
    result = run(capsys, "--stack", stack[0])
    assert_refused(result, home, {"config.json": "{}"}, "--yes")


def test_bad_profile_name(capsys, home, stack):
    assert_refused(run(capsys, "--stack", stack[0], "--profile", "../x"), home, {}, "profile")


def test_denied_api_key_without_a_terminal(capsys, home, stack):
    session = fail_call(boto3.Session(), "api-gateway.GetApiKey", 403, "AccessDeniedException")
    result = run(capsys, "--stack", stack[0], session=session)
    assert_refused(result, home, {}, "not allowed to read", "--auth-key-stdin")


def test_denied_api_key_from_stdin(capsys, home, stack, monkeypatch):
    session = fail_call(boto3.Session(), "api-gateway.GetApiKey", 403, "AccessDeniedException")
    monkeypatch.setattr(sys, "stdin", io.StringIO("pasted-key-value\n"))
    code, _, _ = run(capsys, "--stack", stack[0], "--auth-key-stdin", session=session)
    assert code == 0
    assert json.loads((home / "config.json").read_text())[AUTH_KEY] == "pasted-key-value"


def test_no_stack_and_no_terminal(capsys, home, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert_refused(run(capsys), home, {}, "--stack")


# --check


def test_check_reports_each_check_and_the_missing_metadata_service(capsys, home, stack):
    """The emulator runs no containers, so the metadata service cannot answer: the check says so
    and the exit status is non-zero; the file is written all the same."""
    code, out, _ = run(capsys, "--stack", stack[0], "--check")
    lines = [line for line in out.splitlines() if line.startswith(("ok", "FAIL"))]
    assert code == 1 and len(lines) == 3
    assert lines[0].startswith("ok") and "bucket" in lines[0]
    assert lines[1].startswith("ok") and "ENABLED and VALID" in lines[1]
    assert lines[2].startswith("FAIL") and "metadata service" in lines[2]
    assert stack[1]["ServiceUrl"].rstrip("/") + "/ping" in lines[2]
    assert (home / "config.json").exists()


def test_check_fails_on_a_disabled_job_queue(capsys, aws, home, stack):
    batch = aws.client("batch")
    queue = stack[1]["BatchJobQueueArn"]
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    try:
        code, out, _ = run(capsys, "--stack", stack[0], "--check")
    finally:
        batch.update_job_queue(jobQueue=queue, state="ENABLED")
    assert code == 1
    assert any(line.startswith("FAIL") and "DISABLED" in line for line in out.splitlines())


# The publish subcommand lives in wizard/publish.py


def test_publish_is_dispatched(monkeypatch):
    seen = []
    stub = types.ModuleType("wizard.publish")
    stub.main = lambda argv: seen.append(argv) or 7
    monkeypatch.setitem(sys.modules, "wizard.publish", stub)
    assert cli.main(["publish", "--bucket", "b"]) == 7
    assert seen == [["--bucket", "b"]]


# Interactive: the real prompts, fed keystrokes through a pipe


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def interactive(capsys, monkeypatch, keys: str, *argv, session=None) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", Terminal())
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        return run(capsys, *argv, session=session)


def stack_keys(aws, name: str) -> str:
    """Arrow keys that move from the first listed stack to `name`."""
    return DOWN * candidates(Aws(aws, "us-east-1")).index(name) + ENTER


def test_interactive_region_stack_new_profile_and_confirm(
    capsys, monkeypatch, aws, home, stack, api_key
):
    keys = ENTER + stack_keys(aws, stack[0]) + UP + ENTER + "lab" + ENTER + "y"
    code, out, err = interactive(capsys, monkeypatch, keys)
    assert (code, err) == (0, "")
    written = json.loads((home / "config_lab.json").read_text())
    assert written == expected_config(stack[1], api_key)
    assert mode(home / "config_lab.json") == 0o600
    # The diff shown before confirming masks the key.
    assert f'+    "{AUTH_KEY}": "****' in out and api_key not in out


def test_interactive_diff_against_an_existing_profile(capsys, monkeypatch, aws, home, stack):
    home.mkdir()
    (home / "config_lab.json").write_text(json.dumps({"METAFLOW_DATATOOLS_S3ROOT": "s3://old"}))
    # Region given on the command line is not asked; the existing profile is listed second.
    keys = stack_keys(aws, stack[0]) + DOWN + ENTER + "y"
    code, out, _ = interactive(capsys, monkeypatch, keys, "--region", "us-east-1")
    assert code == 0
    assert '-    "METAFLOW_DATATOOLS_S3ROOT": "s3://old"' in out
    assert f'+    "METAFLOW_DATATOOLS_S3ROOT": "{stack[1]["MetaflowDataToolsS3Url"]}"' in out
    assert len([n for n in files(home) if n.endswith(".bak")]) == 1


def test_interactive_typed_name_and_pasted_key_when_denied(capsys, monkeypatch, aws, home, stack):
    session = fail_call(boto3.Session(), "api-gateway.GetApiKey", 403, "AccessDeniedException")
    keys = ENTER + UP + ENTER + stack[0] + ENTER + ENTER + "pasted-value" + ENTER + "y"
    code, _, err = interactive(capsys, monkeypatch, keys, session=session)
    assert code == 0
    assert err.startswith("wizard: not allowed to read") and err.count("\n") == 1
    assert json.loads((home / "config.json").read_text())[AUTH_KEY] == "pasted-value"


@pytest.mark.parametrize("answered", [0, 1, 2, 3])
def test_ctrl_c_at_any_prompt_writes_nothing(capsys, monkeypatch, aws, home, stack, answered):
    """Ctrl-C at the region, stack, profile and confirm prompts."""
    home.mkdir()
    (home / "config.json").write_text("{}")
    keys = "".join([ENTER, stack_keys(aws, stack[0]), ENTER][:answered]) + CTRL_C
    code, _, err = interactive(capsys, monkeypatch, keys)
    assert (code, err) == (130, "wizard: cancelled; nothing written\n")
    assert files(home) == {"config.json": "{}"}


def test_declining_writes_nothing(capsys, monkeypatch, aws, home, stack):
    keys = ENTER + stack_keys(aws, stack[0]) + ENTER + "n"
    code, _, err = interactive(capsys, monkeypatch, keys)
    assert code == 1 and "not confirmed" in err
    assert files(home) == {}


def test_in_a_real_terminal(aws, stack, api_key, tmp_path):
    """`python -m wizard` in a pseudo-terminal, as a user runs it: the prompts draw, take keys,
    and the file is written."""
    home = tmp_path / "mfhome"
    env = {**os.environ, "METAFLOW_HOME": str(home), "PROMPT_TOOLKIT_NO_CPR": "1"}
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    argv = [sys.executable, "-m", "wizard", "--region", "us-east-1", "--profile", "tty"]
    process = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True
    )
    os.close(follower)
    try:
        screen = Screen(leader)
        screen.wait_for("Stack in us-east-1")
        os.write(leader, stack_keys(aws, stack[0]).encode())
        screen.wait_for("Write ")
        os.write(leader, b"y")
        assert process.wait(timeout=60) == 0, screen.text
    finally:
        process.kill()
        os.close(leader)
    written = json.loads((home / "config_tty.json").read_text())
    assert written == expected_config(stack[1], api_key)


class Screen:
    """What a terminal shows, escape sequences dropped."""

    def __init__(self, fd: int):
        self.fd, self.text = fd, ""
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def wait_for(self, wanted: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while wanted not in self.text:
            ready, _, _ = select.select([self.fd], [], [], max(0, deadline - time.monotonic()))
            assert ready, f"{wanted!r} never shown; the screen: {self.text[-500:]!r}"
            self.text += self.decoder.decode(os.read(self.fd, 4096))
            self.text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.text)
