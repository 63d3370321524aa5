"""`--check`: does the written config reach the stack? One line per check."""

import urllib.error
import urllib.request
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from wizard.stack import AUTH_KEY, Aws

PING_TIMEOUT = 10


def run(aws: Aws, config: dict, say: Callable[[str], None]) -> bool:
    """Run every check, report each; True if all passed."""
    results = [
        _check("bucket", lambda: _bucket(aws, config)),
        _check("job queue", lambda: _job_queue(aws, config)),
        _check("metadata service", lambda: _metadata(config)),
    ]
    for passed, line in results:
        say(f"{'ok  ' if passed else 'FAIL'}  {line}")
    return all(passed for passed, _ in results)


def _check(what: str, probe: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, f"{what}: {probe()}"
    except CheckFailed as failed:
        return False, f"{what}: {failed}"
    except ClientError as error:
        return False, f"{what}: {error.response['Error'].get('Code')}"
    except BotoCoreError as error:
        return False, f"{what}: {error}"


class CheckFailed(Exception):
    pass


def _bucket(aws, config) -> str:
    bucket = config["METAFLOW_DATASTORE_SYSROOT_S3"].removeprefix("s3://").split("/")[0]
    aws.client("s3").head_bucket(Bucket=bucket)
    return f"s3://{bucket} answers"


def _job_queue(aws, config) -> str:
    arn = config["METAFLOW_BATCH_JOB_QUEUE"]
    queues = aws.client("batch").describe_job_queues(jobQueues=[arn])["jobQueues"]
    if not queues:
        raise CheckFailed(f"{arn} not found")
    state, status = queues[0]["state"], queues[0]["status"]
    if (state, status) != ("ENABLED", "VALID"):
        raise CheckFailed(f"{arn} is {state}/{status}, not ENABLED/VALID")
    return f"{arn} is ENABLED and VALID"


def _metadata(config: dict) -> str:
    url = config["METAFLOW_SERVICE_URL"].rstrip("/") + "/ping"
    headers = {"x-api-key": config[AUTH_KEY]} if config.get(AUTH_KEY) else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=PING_TIMEOUT
        ) as response:
            return f"{url} answers {response.status}"
    except urllib.error.HTTPError as error:
        raise CheckFailed(f"{url} answers {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CheckFailed(f"{url} unreachable ({reason})") from None
