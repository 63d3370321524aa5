"""The publish command: moto's server where it has the APIs, botocore's Stubber where not.

moto serves S3, IAM and Service Catalog portfolios (list, create, delete). It has no provisioning
artifacts, principal associations, constraints or admin product search (emulator gap 7), so those
calls are stubbed: the Stubber checks each request against the real service model and the order in
which they are made, and any call not expected here fails the test.
"""

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.stub import ANY, Stubber

from templates_src.catalog import LAUNCH_ROLE_NAME
from wizard import publish

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:role/DataScientists"
MOTO_HAS = {"ListPortfolios", "CreatePortfolio", "DeletePortfolio"}


class GapStubber(Stubber):
    """Stubs the Service Catalog operations moto lacks; the rest reach the emulator."""

    def _assert_expected_params(self, model, params, context, **kwargs):
        if model.name not in MOTO_HAS:
            super()._assert_expected_params(model, params, context, **kwargs)

    def _get_response_handler(self, model, params, context, **kwargs):
        if model.name not in MOTO_HAS:
            return super()._get_response_handler(model, params, context, **kwargs)
        return None


class Clients:
    """What the publisher asks a session for: emulator clients, Service Catalog's half stubbed."""

    def __init__(self, aws):
        self.made = {name: aws.client(name, region_name=REGION) for name in ("s3", "iam")}
        self.made["servicecatalog"] = aws.client("servicecatalog", region_name=REGION)
        self.stub = GapStubber(self.made["servicecatalog"])
        self.stub.activate()

    def client(self, name, region_name=None):
        return self.made[name]


class Catalog:
    """Queues the responses Service Catalog gives for one publish run, in the order asked."""

    def __init__(self, world: dict, product: str | None = None):
        self.stub = world["clients"].stub
        self.bucket = world["bucket"]
        self.product = product or world["product"]

    def search(self, product_id: str | None = None):
        views = []
        if product_id:
            views = [
                {
                    "ProductViewSummary": {
                        "Id": "prodview-abcdefghijklm",
                        "ProductId": product_id,
                        "Name": self.product,
                        "Owner": publish.OWNER,
                        "Type": "CLOUD_FORMATION_TEMPLATE",
                    },
                    "Status": "CREATED",
                }
            ]
        self.stub.add_response(
            "search_products_as_admin",
            {"ProductViewDetails": views},
            {"Filters": {"FullTextSearch": [self.product]}},
        )

    def owners(self, product_id: str, portfolios: list[tuple[str, str]]):
        self.stub.add_response(
            "list_portfolios_for_product",
            {"PortfolioDetails": [{"Id": i, "DisplayName": n} for i, n in portfolios]},
            {"ProductId": product_id},
        )

    def versions(self, product_id: str, versions: list[dict]):
        self.stub.add_response(
            "list_provisioning_artifacts",
            {"ProvisioningArtifactDetails": versions},
            {"ProductId": product_id},
        )

    def create_product(self, product_id: str, version_id: str, version: str, digest: str):
        self.stub.add_response(
            "create_product",
            {
                "ProductViewDetail": {
                    "ProductViewSummary": {"ProductId": product_id, "Name": self.product}
                },
                "ProvisioningArtifactDetail": {"Id": version_id, "Name": version},
            },
            {
                "Name": self.product,
                "Owner": publish.OWNER,
                "ProductType": "CLOUD_FORMATION_TEMPLATE",
                "ProvisioningArtifactParameters": artifact_parameters(self.bucket, version, digest),
                "IdempotencyToken": ANY,
            },
        )

    def create_version(self, product_id: str, version_id: str, version: str, digest: str):
        self.stub.add_response(
            "create_provisioning_artifact",
            {"ProvisioningArtifactDetail": {"Id": version_id, "Name": version}},
            {
                "ProductId": product_id,
                "Parameters": artifact_parameters(self.bucket, version, digest),
                "IdempotencyToken": ANY,
            },
        )

    def associate_product(self, product_id: str):
        self.stub.add_response(
            "associate_product_with_portfolio",
            {},
            {"ProductId": product_id, "PortfolioId": ANY},
        )

    def principals(self, present: list[str], add: list[str]):
        self.stub.add_response(
            "list_principals_for_portfolio",
            {"Principals": [{"PrincipalARN": a, "PrincipalType": "IAM"} for a in present]},
            {"PortfolioId": ANY},
        )
        for arn in add:
            self.stub.add_response(
                "associate_principal_with_portfolio",
                {},
                {"PortfolioId": ANY, "PrincipalARN": arn, "PrincipalType": "IAM"},
            )

    def constraint(self, product_id: str, existing: str | None = None):
        parameters = json.dumps({"LocalRoleName": LAUNCH_ROLE_NAME})
        self.stub.add_response(
            "list_constraints_for_portfolio",
            {
                "ConstraintDetails": [{"ConstraintId": "cons-abcdefghijklm", "Type": "LAUNCH"}]
                if existing
                else []
            },
            {"PortfolioId": ANY, "ProductId": product_id},
        )
        if existing:
            self.stub.add_response(
                "describe_constraint",
                {"ConstraintParameters": existing, "Status": "AVAILABLE"},
                {"Id": "cons-abcdefghijklm"},
            )
        else:
            self.stub.add_response(
                "create_constraint",
                {"ConstraintDetail": {"ConstraintId": "cons-abcdefghijklm", "Type": "LAUNCH"}},
                {
                    "PortfolioId": ANY,
                    "ProductId": product_id,
                    "Type": "LAUNCH",
                    "Parameters": parameters,
                    "IdempotencyToken": ANY,
                },
            )


def artifact_parameters(bucket: str, version: str, digest: str) -> dict:
    key = f"{publish.KEY_PREFIX}{digest}.json"
    return {
        "Name": version,
        "Description": f"sha256:{digest}",
        "Info": {"LoadTemplateFromURL": f"https://{bucket}.s3.{REGION}.amazonaws.com/{key}"},
        "Type": "CLOUD_FORMATION_TEMPLATE",
    }


def artifact(version_id: str, name: str, digest: str, guidance: str = "DEFAULT") -> dict:
    return {
        "Id": version_id,
        "Name": name,
        "Description": f"sha256:{digest}",
        "Type": "CLOUD_FORMATION_TEMPLATE",
        "Active": True,
        "Guidance": guidance,
    }


@pytest.fixture(scope="module")
def launch_role(aws):
    iam = aws.client("iam", region_name=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "servicecatalog.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=LAUNCH_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    yield LAUNCH_ROLE_NAME
    iam.delete_role(RoleName=LAUNCH_ROLE_NAME)


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A generated/ of our own, holding the real templates, so tests can change a byte."""
    for name in ("metaflow.json", "metaflow-sandbox.json"):
        (tmp_path / name).write_bytes((ROOT / "generated" / name).read_bytes())
    monkeypatch.setattr(publish, "GENERATED", tmp_path)
    return tmp_path


@pytest.fixture
def world(aws, launch_role, built):
    """A fresh bucket and names no other test uses (the emulator lives for the session)."""
    suffix = uuid.uuid4().hex[:8]
    bucket = f"catalog-{suffix}"
    aws.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    clients = Clients(aws)
    yield {
        "aws": aws,
        "clients": clients,
        "bucket": bucket,
        "portfolio": f"Metaflow {suffix}",
        "product": f"metaflow-{suffix}",
    }
    clients.stub.deactivate()


def argv(world, version="1.0.0", *extra) -> list[str]:
    return [
        "--bucket",
        world["bucket"],
        "--portfolio",
        world["portfolio"],
        "--product",
        world["product"],
        "--version",
        version,
        "--principal",
        PRINCIPAL,
        "--region",
        REGION,
        *extra,
    ]


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def portfolio_ids(world) -> list[str]:
    sc = world["aws"].client("servicecatalog", region_name=REGION)
    details = sc.list_portfolios()["PortfolioDetails"]
    return [p["Id"] for p in details if p["DisplayName"] == world["portfolio"]]


def run(world, args, capsys) -> tuple[int, str, str]:
    code = publish.main(args, session=world["clients"])
    out, err = capsys.readouterr()
    return code, out, err


def first_publish(world, capsys, digest: str) -> str:
    """Publish into an empty catalog; returns the moto portfolio id."""
    catalog = Catalog(world)
    catalog.search()
    catalog.create_product("prod-abcdefghijklm", "pa-firstversion01", "1.0.0", digest)
    catalog.associate_product("prod-abcdefghijklm")
    catalog.principals([], [PRINCIPAL])
    catalog.constraint("prod-abcdefghijklm")
    code, out, err = run(world, argv(world), capsys)
    assert (code, err) == (0, "")
    world["clients"].stub.assert_no_pending_responses()
    assert "prod-abcdefghijklm" in out and "pa-firstversion01" in out
    [portfolio_id] = portfolio_ids(world)
    return portfolio_id


def published_catalog(world, portfolio_id: str, versions: list[dict]) -> Catalog:
    """The reads of a run against a catalog that already holds the product and `versions`."""
    catalog = Catalog(world)
    catalog.search("prod-abcdefghijklm")
    catalog.owners("prod-abcdefghijklm", [(portfolio_id, world["portfolio"])])
    catalog.versions("prod-abcdefghijklm", versions)
    return catalog


def test_first_publish_uploads_by_content_and_creates_everything(world, built, capsys):
    digest = digest_of(built / "metaflow.json")
    first_publish(world, capsys, digest)
    s3 = world["aws"].client("s3", region_name=REGION)
    stored = s3.get_object(Bucket=world["bucket"], Key=f"{publish.KEY_PREFIX}{digest}.json")
    assert stored["Body"].read() == (built / "metaflow.json").read_bytes()


def test_publishing_the_same_build_twice_makes_one_version(world, built, capsys):
    digest = digest_of(built / "metaflow.json")
    portfolio_id = first_publish(world, capsys, digest)

    catalog = published_catalog(
        world, portfolio_id, [artifact("pa-firstversion01", "1.0.0", digest)]
    )
    catalog.principals([PRINCIPAL], [])
    catalog.constraint("prod-abcdefghijklm", json.dumps({"LocalRoleName": LAUNCH_ROLE_NAME}))
    code, out, err = run(world, argv(world, "1.0.1"), capsys)

    assert (code, err) == (0, "")
    world["clients"].stub.assert_no_pending_responses()
    assert "unchanged: version 1.0.0 already holds this template" in out
    assert "pa-firstversion01" in out
    assert portfolio_ids(world) == [portfolio_id]


def test_one_changed_byte_makes_a_new_version_and_deprecates_the_old(world, built, capsys):
    old = digest_of(built / "metaflow.json")
    portfolio_id = first_publish(world, capsys, old)
    body = bytearray((built / "metaflow.json").read_bytes())
    body[body.index(b"Metaflow on AWS")] = ord("m")
    (built / "metaflow.json").write_bytes(bytes(body))
    new = digest_of(built / "metaflow.json")

    catalog = published_catalog(world, portfolio_id, [artifact("pa-firstversion01", "1.0.0", old)])
    catalog.create_version("prod-abcdefghijklm", "pa-secondversion1", "1.1.0", new)
    catalog.principals([PRINCIPAL], [])
    catalog.constraint("prod-abcdefghijklm", json.dumps({"LocalRoleName": LAUNCH_ROLE_NAME}))
    world["clients"].stub.add_response(
        "update_provisioning_artifact",
        {},
        {
            "ProductId": "prod-abcdefghijklm",
            "ProvisioningArtifactId": "pa-firstversion01",
            "Guidance": "DEPRECATED",
        },
    )
    code, out, err = run(world, argv(world, "1.1.0", "--deprecate-older"), capsys)

    assert (code, err) == (0, "")
    world["clients"].stub.assert_no_pending_responses()
    assert "pa-secondversion1" in out and "deprecated: 1.0.0" in out
    s3 = world["aws"].client("s3", region_name=REGION)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=world["bucket"])["Contents"]}
    assert keys == {f"{publish.KEY_PREFIX}{old}.json", f"{publish.KEY_PREFIX}{new}.json"}


def test_sandbox_publishes_the_capped_template_as_its_own_product(world, built, capsys):
    digest = digest_of(built / "metaflow-sandbox.json")
    catalog = Catalog(world, world["product"] + "-sandbox")
    catalog.search()
    catalog.create_product("prod-sandboxabcdef", "pa-sandboxversion", "1.0.0", digest)
    catalog.associate_product("prod-sandboxabcdef")
    catalog.principals([], [PRINCIPAL])
    catalog.constraint("prod-sandboxabcdef")
    code, out, err = run(world, argv(world, "1.0.0", "--sandbox"), capsys)
    assert (code, err) == (0, "")
    world["clients"].stub.assert_no_pending_responses()
    assert "prod-sandboxabcdef" in out


def one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert expected in err, err


def test_missing_bucket_argument(world, capsys):
    args = argv(world)
    del args[0:2]
    code, _, err = run(world, args, capsys)
    one_line_error(code, err, "missing --bucket")
    assert portfolio_ids(world) == []


def test_bucket_that_does_not_exist(world, capsys):
    args = argv(world)
    args[1] = "no-such-bucket-" + uuid.uuid4().hex[:8]
    code, _, err = run(world, args, capsys)
    one_line_error(code, err, f"bucket {args[1]} does not exist")
    assert portfolio_ids(world) == []


def test_launch_role_not_deployed(world, capsys):
    code, _, err = run(world, [*argv(world), "--launch-role", "NoSuchRole"], capsys)
    one_line_error(code, err, "launch role NoSuchRole not found")
    assert portfolio_ids(world) == []


def test_no_permission_to_read_the_catalog(world, capsys):
    world["clients"].stub.add_client_error(
        "search_products_as_admin",
        "AccessDeniedException",
        "User is not authorized to perform: servicecatalog:SearchProductsAsAdmin",
    )
    code, _, err = run(world, argv(world), capsys)
    one_line_error(code, err, "no permission for SearchProductsAsAdmin")
    assert portfolio_ids(world) == []


def test_no_permission_after_the_upload_leaves_no_portfolio(world, capsys):
    catalog = Catalog(world)
    catalog.search()
    world["clients"].stub.add_client_error(
        "create_product", "AccessDeniedException", "not authorized: servicecatalog:CreateProduct"
    )
    code, _, err = run(world, argv(world), capsys)
    one_line_error(code, err, "no permission for CreateProduct")
    assert "; undone: portfolio " in err
    world["clients"].stub.assert_no_pending_responses()
    assert portfolio_ids(world) == []


def test_failure_after_a_new_version_removes_it_and_a_rerun_completes(world, built, capsys):
    digest = digest_of(built / "metaflow.json")
    portfolio_id = first_publish(world, capsys, digest)
    (built / "metaflow.json").write_bytes((built / "metaflow.json").read_bytes() + b" ")
    new = digest_of(built / "metaflow.json")
    versions = [artifact("pa-firstversion01", "1.0.0", digest)]

    catalog = published_catalog(world, portfolio_id, versions)
    catalog.create_version("prod-abcdefghijklm", "pa-secondversion1", "1.1.0", new)
    world["clients"].stub.add_client_error(
        "list_principals_for_portfolio", "InvalidParametersException", "portfolio is busy"
    )
    world["clients"].stub.add_response(
        "delete_provisioning_artifact",
        {},
        {"ProductId": "prod-abcdefghijklm", "ProvisioningArtifactId": "pa-secondversion1"},
    )
    code, _, err = run(world, argv(world, "1.1.0"), capsys)
    one_line_error(code, err, "undone: version pa-secondversion1")
    world["clients"].stub.assert_no_pending_responses()

    catalog = published_catalog(world, portfolio_id, versions)
    catalog.create_version("prod-abcdefghijklm", "pa-thirdversion01", "1.1.0", new)
    catalog.principals([PRINCIPAL], [])
    catalog.constraint("prod-abcdefghijklm", json.dumps({"LocalRoleName": LAUNCH_ROLE_NAME}))
    code, out, err = run(world, argv(world, "1.1.0"), capsys)
    assert (code, err) == (0, "")
    world["clients"].stub.assert_no_pending_responses()
    assert "pa-thirdversion01" in out


def test_product_name_owned_by_another_portfolio(world, capsys):
    catalog = Catalog(world)
    catalog.search("prod-abcdefghijklm")
    catalog.owners("prod-abcdefghijklm", [("port-otherteamabcd", "Other team")])
    code, _, err = run(world, argv(world), capsys)
    one_line_error(code, err, "belongs to portfolio Other team")
    world["clients"].stub.assert_no_pending_responses()
    assert portfolio_ids(world) == []


def test_version_name_taken_by_a_different_template(world, built, capsys):
    digest = digest_of(built / "metaflow.json")
    portfolio_id = first_publish(world, capsys, digest)
    (built / "metaflow.json").write_bytes((built / "metaflow.json").read_bytes() + b" ")
    published_catalog(world, portfolio_id, [artifact("pa-firstversion01", "1.0.0", digest)])
    code, _, err = run(world, argv(world, "1.0.0"), capsys)
    one_line_error(code, err, "version 1.0.0 of")
    world["clients"].stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "body, expected",
    [
        (b'{"Resources": {}, "Description": "' + b"x" * 1_048_576 + b'"}', "bytes, over"),
        (
            json.dumps(
                {"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(501)}}
            ).encode(),
            "more than 500 resources",
        ),
    ],
    ids=["size", "resources"],
)
def test_template_over_service_catalog_limits(world, built, capsys, body, expected):
    (built / "metaflow.json").write_bytes(body)
    code, _, err = run(world, argv(world), capsys)
    one_line_error(code, err, expected)
    assert portfolio_ids(world) == []


def test_runs_as_a_module_and_through_the_wizard():
    for command in (["-m", "wizard.publish"], ["-m", "wizard", "publish"]):
        result = subprocess.run(
            [sys.executable, *command, "--region", REGION],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert result.returncode == 1
        assert result.stderr.startswith("error: missing --bucket, --portfolio"), result.stderr
        assert result.stderr.count("\n") == 1


def test_principal_that_is_not_an_iam_arn(world, capsys):
    code, _, err = run(world, [*argv(world), "--principal", "DataScientists"], capsys)
    one_line_error(code, err, "not an IAM user, role or group ARN: DataScientists")
    assert portfolio_ids(world) == []


def test_template_that_is_not_json(world, built, capsys):
    (built / "metaflow.json").write_bytes(b"Resources: {}\n")
    code, _, err = run(world, argv(world), capsys)
    one_line_error(code, err, "metaflow.json is not a JSON template")
