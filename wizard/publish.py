"""Publish the built template to AWS Service Catalog as a product teams launch themselves.

    python -m wizard publish --bucket B --portfolio P --product N --version V \
        --principal ARN [--principal ARN ...] --region R [--deprecate-older] [--sandbox]

The template goes to S3 under its sha256, so a version is recognised by content: publishing the same
build twice is a no-op that says so, and one changed byte makes a new version. Every check that can
fail runs before anything is written; a failure after the first write undoes what this run created,
so a rerun starts clean and completes the job.
"""

import argparse
import hashlib
import json
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from templates_src.catalog import LAUNCH_ROLE_NAME

GENERATED = Path(__file__).resolve().parent.parent / "generated"
KEY_PREFIX = "metaflow-catalog/"
HASH_TAG = "sha256:"
OWNER = "Platform team"
# Service Catalog loads versions through CloudFormation, whose limits for a template in S3 apply.
MAX_TEMPLATE_BYTES = 1_048_576
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200
# Service Catalog's default quota of versions per product.
MAX_VERSIONS = 100
PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(user|role|group)/\S+$")
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}


class PublishError(Exception):
    """A failure the user can act on, said in one line."""


@dataclass
class Request:
    bucket: str
    portfolio: str
    product: str
    version: str
    principals: list[str]
    region: str
    deprecate_older: bool = False
    sandbox: bool = False
    launch_role: str = LAUNCH_ROLE_NAME

    @property
    def product_name(self) -> str:
        return f"{self.product}-sandbox" if self.sandbox else self.product

    @property
    def template_path(self) -> Path:
        return GENERATED / ("metaflow-sandbox.json" if self.sandbox else "metaflow.json")


@dataclass
class Result:
    product_id: str
    version_id: str
    console_url: str
    notes: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> Request:
    parser = argparse.ArgumentParser(prog="wizard publish", description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", help="S3 bucket the template is uploaded to")
    parser.add_argument("--portfolio", help="portfolio display name (created when absent)")
    parser.add_argument("--product", help="product name (created when absent)")
    parser.add_argument("--version", help="name of the new version, e.g. 1.4.0")
    parser.add_argument(
        "--principal", action="append", default=[], help="IAM ARN that may launch (repeatable)"
    )
    parser.add_argument("--region", help="AWS region of the catalog")
    parser.add_argument("--deprecate-older", action="store_true", help="deprecate older versions")
    parser.add_argument("--sandbox", action="store_true", help="publish the sandbox product")
    parser.add_argument(
        "--launch-role",
        default=LAUNCH_ROLE_NAME,
        help="name of the role deployed from generated/catalog-launch-role.json",
    )
    args = parser.parse_args(argv)
    # One line per problem, not argparse's usage block.
    missing = [
        f"--{name}"
        for name in ("bucket", "portfolio", "product", "version", "principal", "region")
        if not getattr(args, name)
    ]
    if missing:
        raise PublishError(f"missing {', '.join(missing)} (see --help)")
    # Checked here because Service Catalog would refuse it only after the version exists.
    wrong = [arn for arn in args.principal if not PRINCIPAL_ARN.match(arn)]
    if wrong:
        raise PublishError(f"not an IAM user, role or group ARN: {', '.join(wrong)}")
    return Request(
        bucket=args.bucket,
        portfolio=args.portfolio,
        product=args.product,
        version=args.version,
        principals=list(dict.fromkeys(args.principal)),
        region=args.region,
        deprecate_older=args.deprecate_older,
        sandbox=args.sandbox,
        launch_role=args.launch_role,
    )


def check_limits(body: bytes, path: Path) -> None:
    if len(body) > MAX_TEMPLATE_BYTES:
        raise PublishError(
            f"{path.name} is {len(body)} bytes, over Service Catalog's {MAX_TEMPLATE_BYTES}"
        )
    try:
        template = json.loads(body)
    except ValueError:
        raise PublishError(f"{path.name} is not a JSON template: run make templates") from None
    for section, limit in (
        ("Resources", MAX_RESOURCES),
        ("Parameters", MAX_PARAMETERS),
        ("Outputs", MAX_OUTPUTS),
    ):
        if len(template.get(section, {})) > limit:
            raise PublishError(f"{path.name} has more than {limit} {section.lower()}")


def read_template(request: Request) -> bytes:
    try:
        body = request.template_path.read_bytes()
    except FileNotFoundError:
        raise PublishError(f"{request.template_path} not found: run make templates") from None
    check_limits(body, request.template_path)
    return body


def console_url(region: str, product_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/servicecatalog/home?region={region}"
        f"#/admin-products/{product_id}"
    )


def _token() -> str:
    return uuid.uuid4().hex


def _paged(client, method: str, key: str, **kwargs) -> list[dict]:
    return [item for page in client.get_paginator(method).paginate(**kwargs) for item in page[key]]


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


class Journal:
    """What this run created, with how to take it back, so a failure leaves nothing behind."""

    def __init__(self) -> None:
        self.undo: list[tuple[str, Callable[[], object]]] = []

    def did(self, what: str, undo: Callable[[], object]) -> None:
        self.undo.append((what, undo))

    def roll_back(self) -> str:
        left = []
        for what, undo in reversed(self.undo):
            try:
                undo()
            except (ClientError, BotoCoreError):
                left.append(what)
        if left:
            return f"; could not undo: {', '.join(left)}"
        return "; undone: " + ", ".join(w for w, _ in self.undo) if self.undo else ""


class Publisher:
    def __init__(self, request: Request, session: boto3.Session):
        self.request = request
        self.s3 = session.client("s3", region_name=request.region)
        self.iam = session.client("iam", region_name=request.region)
        self.sc = session.client("servicecatalog", region_name=request.region)
        self.journal = Journal()

    # Reads: everything that can be refused is found out here, before the first write.

    def bucket_url(self, key: str) -> str:
        bucket = self.request.bucket
        try:
            head = self.s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if _code(error) in {"404", "NoSuchBucket"}:
                raise PublishError(f"bucket {bucket} does not exist; create it first") from None
            raise
        region = head.get("BucketRegion", self.request.region)
        return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"

    def check_launch_role(self) -> None:
        try:
            self.iam.get_role(RoleName=self.request.launch_role)
        except ClientError as error:
            if _code(error) == "NoSuchEntity":
                raise PublishError(
                    f"launch role {self.request.launch_role} not found: deploy "
                    "generated/catalog-launch-role.json first"
                ) from None
            raise

    def find_portfolio(self) -> str | None:
        for portfolio in _paged(self.sc, "list_portfolios", "PortfolioDetails"):
            if portfolio["DisplayName"] == self.request.portfolio:
                return portfolio["Id"]
        return None

    def find_product(self) -> str | None:
        name = self.request.product_name
        views = _paged(
            self.sc,
            "search_products_as_admin",
            "ProductViewDetails",
            Filters={"FullTextSearch": [name]},
        )
        for view in views:
            if view["ProductViewSummary"]["Name"] == name:
                return view["ProductViewSummary"]["ProductId"]
        return None

    def product_portfolios(self, product_id: str) -> list[dict]:
        return _paged(
            self.sc, "list_portfolios_for_product", "PortfolioDetails", ProductId=product_id
        )

    def versions(self, product_id: str) -> list[dict]:
        return self.sc.list_provisioning_artifacts(ProductId=product_id)[
            "ProvisioningArtifactDetails"
        ]

    # Writes, each recorded with its undo.

    def upload(self, key: str, body: bytes) -> None:
        """Content-addressed, so an object already there is this very template."""
        try:
            self.s3.head_object(Bucket=self.request.bucket, Key=key)
            return
        except ClientError as error:
            if _code(error) not in {"404", "NoSuchKey"}:
                raise
        self.s3.put_object(
            Bucket=self.request.bucket, Key=key, Body=body, ContentType="application/json"
        )

    def version_parameters(self, url: str, digest: str) -> dict:
        return {
            "Name": self.request.version,
            "Description": f"{HASH_TAG}{digest}",
            "Info": {"LoadTemplateFromURL": url},
            "Type": "CLOUD_FORMATION_TEMPLATE",
        }

    def create_portfolio(self) -> str:
        portfolio_id = self.sc.create_portfolio(
            DisplayName=self.request.portfolio, ProviderName=OWNER, IdempotencyToken=_token()
        )["PortfolioDetail"]["Id"]
        self.journal.did(
            f"portfolio {portfolio_id}", lambda: self.sc.delete_portfolio(Id=portfolio_id)
        )
        return portfolio_id

    def create_product(self, url: str, digest: str) -> tuple[str, str]:
        created = self.sc.create_product(
            Name=self.request.product_name,
            Owner=OWNER,
            ProductType="CLOUD_FORMATION_TEMPLATE",
            ProvisioningArtifactParameters=self.version_parameters(url, digest),
            IdempotencyToken=_token(),
        )
        product_id = created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
        self.journal.did(f"product {product_id}", lambda: self.sc.delete_product(Id=product_id))
        return product_id, created["ProvisioningArtifactDetail"]["Id"]

    def create_version(self, product_id: str, url: str, digest: str) -> str:
        version_id = self.sc.create_provisioning_artifact(
            ProductId=product_id,
            Parameters=self.version_parameters(url, digest),
            IdempotencyToken=_token(),
        )["ProvisioningArtifactDetail"]["Id"]
        self.journal.did(
            f"version {version_id}",
            lambda: self.sc.delete_provisioning_artifact(
                ProductId=product_id, ProvisioningArtifactId=version_id
            ),
        )
        return version_id

    def add_to_portfolio(self, portfolio_id: str, product_id: str) -> None:
        self.sc.associate_product_with_portfolio(ProductId=product_id, PortfolioId=portfolio_id)
        self.journal.did(
            "product association",
            lambda: self.sc.disassociate_product_from_portfolio(
                ProductId=product_id, PortfolioId=portfolio_id
            ),
        )

    def associate_principals(self, portfolio_id: str) -> None:
        present = {
            p["PrincipalARN"]
            for p in _paged(
                self.sc, "list_principals_for_portfolio", "Principals", PortfolioId=portfolio_id
            )
        }
        for arn in self.request.principals:
            if arn in present:
                continue
            self.sc.associate_principal_with_portfolio(
                PortfolioId=portfolio_id, PrincipalARN=arn, PrincipalType="IAM"
            )
            self.journal.did(
                f"principal {arn}",
                lambda arn=arn: self.sc.disassociate_principal_from_portfolio(
                    PortfolioId=portfolio_id, PrincipalARN=arn, PrincipalType="IAM"
                ),
            )

    def set_launch_constraint(self, portfolio_id: str, product_id: str) -> None:
        wanted = {"LocalRoleName": self.request.launch_role}
        constraints = _paged(
            self.sc,
            "list_constraints_for_portfolio",
            "ConstraintDetails",
            PortfolioId=portfolio_id,
            ProductId=product_id,
        )
        launch = [c for c in constraints if c["Type"] == "LAUNCH"]
        if not launch:
            constraint_id = self.sc.create_constraint(
                PortfolioId=portfolio_id,
                ProductId=product_id,
                Type="LAUNCH",
                Parameters=json.dumps(wanted),
                IdempotencyToken=_token(),
            )["ConstraintDetail"]["ConstraintId"]
            self.journal.did(
                "launch constraint", lambda: self.sc.delete_constraint(Id=constraint_id)
            )
            return
        constraint_id = launch[0]["ConstraintId"]
        current = self.sc.describe_constraint(Id=constraint_id)["ConstraintParameters"]
        if json.loads(current) != wanted:
            self.sc.update_constraint(Id=constraint_id, Parameters=json.dumps(wanted))
            self.journal.did(
                "launch constraint role",
                lambda: self.sc.update_constraint(Id=constraint_id, Parameters=current),
            )

    def deprecate(self, product_id: str, versions: list[dict], keep: str) -> list[str]:
        """Guidance DEPRECATED: no new launches, but stacks on it can still be updated."""
        names = []
        for version in versions:
            if version["Id"] == keep or version.get("Guidance") == "DEPRECATED":
                continue
            self.sc.update_provisioning_artifact(
                ProductId=product_id, ProvisioningArtifactId=version["Id"], Guidance="DEPRECATED"
            )
            self.journal.did(
                f"deprecation of {version['Name']}",
                lambda vid=version["Id"]: self.sc.update_provisioning_artifact(
                    ProductId=product_id, ProvisioningArtifactId=vid, Guidance="DEFAULT"
                ),
            )
            names.append(version["Name"])
        return names

    def run(self) -> Result:
        request = self.request
        body = read_template(request)
        digest = hashlib.sha256(body).hexdigest()
        key = f"{KEY_PREFIX}{digest}.json"

        url = self.bucket_url(key)
        self.check_launch_role()
        portfolio_id = self.find_portfolio()
        product_id = self.find_product()
        owners = self.product_portfolios(product_id) if product_id else []
        if owners and portfolio_id not in {p["Id"] for p in owners}:
            names = ", ".join(p["DisplayName"] for p in owners)
            raise PublishError(
                f"product {request.product_name} belongs to portfolio {names}, not "
                f"{request.portfolio}; choose another --product or --portfolio"
            )
        versions = self.versions(product_id) if product_id else []
        same = [v for v in versions if v.get("Description") == f"{HASH_TAG}{digest}"]
        if not same:
            taken = [v for v in versions if v["Name"] == request.version]
            if taken:
                raise PublishError(
                    f"version {request.version} of {request.product_name} already exists with a "
                    "different template; pass a new --version"
                )
            if len(versions) >= MAX_VERSIONS:
                raise PublishError(
                    f"{request.product_name} has {len(versions)} versions, Service Catalog's "
                    "limit; delete old ones first"
                )

        notes = []
        try:
            self.upload(key, body)
            if not portfolio_id:
                portfolio_id = self.create_portfolio()
            if same:
                version_id = same[0]["Id"]
                notes.append(
                    f"unchanged: version {same[0]['Name']} already holds this template "
                    f"(sha256 {digest[:12]}); nothing new published"
                )
            elif product_id:
                version_id = self.create_version(product_id, url, digest)
            else:
                product_id, version_id = self.create_product(url, digest)
            if not owners:
                self.add_to_portfolio(portfolio_id, product_id)
            self.associate_principals(portfolio_id)
            self.set_launch_constraint(portfolio_id, product_id)
            if request.deprecate_older:
                deprecated = self.deprecate(product_id, versions, version_id)
                if deprecated:
                    notes.append(f"deprecated: {', '.join(deprecated)}")
        except (ClientError, BotoCoreError) as error:
            raise PublishError(describe(error) + self.journal.roll_back()) from None
        return Result(
            product_id=product_id,
            version_id=version_id,
            console_url=console_url(request.region, product_id),
            notes=notes,
        )


def describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        code = _code(error)
        message = error.response.get("Error", {}).get("Message", "") or code
        if code in DENIED:
            return f"no permission for {error.operation_name}: {message}"
        return f"{error.operation_name} failed ({code}): {message}"
    return str(error)


def publish(request: Request, session: boto3.Session | None = None) -> Result:
    publisher = Publisher(request, session or boto3.Session(region_name=request.region))
    try:
        return publisher.run()
    except (ClientError, BotoCoreError) as error:
        # Reads only: nothing was written yet.
        raise PublishError(describe(error)) from None


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    try:
        request = parse(sys.argv[1:] if argv is None else argv)
        result = publish(request, session)
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(note)
    print(f"product id:  {result.product_id}")
    print(f"version id:  {result.version_id}")
    print(f"console:     {result.console_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
