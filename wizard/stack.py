"""Read a deployed stack's outputs and turn them into Metaflow config values, per the contract."""

from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from templates_src.contract import FIXED_CONFIG, OUTPUTS
from wizard import WizardError

# Throttling and transient errors are retried by botocore, never reported to the user.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})
USABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
REQUIRED = tuple(o.name for o in OUTPUTS if o.required)
AUTH_KEY = next(o.config_key for o in OUTPUTS if o.api_key_id)


class AccessDenied(WizardError):
    """The caller may not read the API key's value."""


@dataclass
class Aws:
    """Where the wizard talks to: the user's session and region. endpoint_url None leaves boto3 to
    its own resolution, which honours AWS_ENDPOINT_URL."""

    session: boto3.Session
    region: str
    endpoint_url: str | None = None

    def client(self, service: str):
        return self.session.client(
            service, region_name=self.region, endpoint_url=self.endpoint_url, config=RETRIES
        )


@dataclass
class StackConfig:
    name: str
    values: dict[str, str]
    # Id of the API key whose value the config needs, if the stack requires one.
    api_key_id: str | None = None


def describe(aws: Aws, name: str) -> dict:
    """The stack, or WizardError if it is absent or not in a usable state."""
    cfn = aws.client("cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in error.response["Error"].get("Message", ""):
            raise WizardError(f"stack {name!r} not found in region {aws.region}") from None
        raise
    status = stack["StackStatus"]
    if status not in USABLE:
        raise WizardError(
            f"stack {name!r} in {aws.region} is {status}; it must be CREATE_COMPLETE or "
            "UPDATE_COMPLETE"
        )
    return stack


def candidates(aws: Aws) -> list[str]:
    """Names of the usable stacks in the region that carry every output the config needs."""
    cfn = aws.client("cloudformation")
    names = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            outputs = {o["OutputKey"] for o in stack.get("Outputs", [])}
            if stack["StackStatus"] in USABLE and set(REQUIRED) <= outputs:
                names.append(stack["StackName"])
    return sorted(names)


def read(aws: Aws, name: str) -> StackConfig:
    """The Metaflow config values `name` provides; the API key value is not fetched here."""
    stack = describe(aws, name)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = [n for n in REQUIRED if not outputs.get(n)]
    if missing:
        raise WizardError(
            f"stack {name!r} lacks the output(s) {', '.join(missing)}; "
            "is it a Metaflow stack deployed from this template?"
        )
    config = StackConfig(name, dict(FIXED_CONFIG))
    for row in OUTPUTS:
        value = outputs.get(row.name)
        # Conditional outputs (no API key) and rows the upstream template lacks are skipped.
        if not (row.config_key and value):
            continue
        if row.api_key_id:
            config.api_key_id = value
        else:
            config.values[row.config_key] = value
    return config


def fetch_api_key(aws: Aws, key_id: str) -> str:
    """The API key's value; WizardError naming the denial if the caller may not read it."""
    try:
        key = aws.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)
    except ClientError as error:
        code = error.response["Error"].get("Code", "")
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            raise AccessDenied(
                f"not allowed to read the value of API key {key_id} (apigateway:GET): "
                f"{error.response['Error'].get('Message', code)}"
            ) from None
        raise
    return key["value"]
