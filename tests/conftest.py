"""Shared fixtures: the built template, and a moto server process with its clients."""

import json
import os

import boto3
import pytest

from demo.emulator import Emulator
from templates_src.stack import build_template


@pytest.fixture(scope="session")
def template() -> dict:
    return json.loads(json.dumps(build_template().to_dict()))


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    with Emulator(log_path=tmp_path_factory.mktemp("emulator") / "moto.log") as running:
        yield running


@pytest.fixture(scope="session")
def aws(emulator) -> boto3.Session:
    """A boto3 session that talks to the emulator, as a user's session talks to AWS."""
    saved = {k: os.environ.get(k) for k in emulator.environment()}
    os.environ.update(emulator.environment())
    yield boto3.Session(region_name=emulator.environment()["AWS_DEFAULT_REGION"])
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
