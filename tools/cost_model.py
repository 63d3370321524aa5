"""What a CloudFormation template costs per month at idle, for one set of parameter values.

The model reads the template the way CloudFormation would: parameter defaults overridden by the
parameter file, conditions evaluated, `Fn::If` resolved inside properties. Each created resource is
priced from tools/prices.json or must be listed there as free at idle; any other type raises
`UnpricedResource`, so a new resource can never be priced at zero by omission.
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from tools.cfn_eval import evaluate_conditions, parameter_values

PRICES_PATH = Path(__file__).resolve().parent / "prices.json"
REGION = "us-east-1"


class UnpricedResource(Exception):
    """A created resource, instance class or setting the price table does not cover."""


def load_prices(path: Path = PRICES_PATH) -> dict:
    return json.loads(path.read_text())


@dataclass
class Line:
    category: str
    item: str
    monthly: float


@dataclass
class Estimate:
    lines: list[Line]
    created: int
    free: list[str] = field(default_factory=list)
    # (on demand, Spot) price of 1,000 vCPU-hours on the default queue; None without a queue.
    batch_work: tuple[float, float] | None = None

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)


@dataclass(frozen=True)
class ResourceRef:
    """A `Ref` to a resource: its physical id is unknown until deployment, its logical id is not."""

    name: str


class Opaque:
    """A value only AWS knows at deploy time (GetAtt, Sub, GetAZs...)."""


OPAQUE = Opaque()
NO_VALUE = object()
PSEUDO = {"AWS::Region": REGION, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


class Resolver:
    """Property values as far as they are known before deployment; conditions and parameter
    values come from tools/cfn_eval.py, as for the tests and `make lint`."""

    def __init__(self, template: dict, values: dict[str, str]):
        self.template = template
        self.resources = template.get("Resources", {})
        self.parameters = parameter_values(template, values)
        self.conditions = evaluate_conditions(template, values)

    def condition(self, name: str) -> bool:
        return self.conditions[name]

    def created(self, resource: dict) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])

    def value(self, expr):
        if isinstance(expr, list):
            return [v for v in (self.value(item) for item in expr) if v is not NO_VALUE]
        if not isinstance(expr, dict):
            return expr
        if len(expr) == 1:
            ((key, arg),) = expr.items()
            function = _INTRINSICS.get(key)
            if function:
                return function(self, arg)
            if key.startswith("Fn::"):
                return OPAQUE
        resolved = {k: self.value(v) for k, v in expr.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def properties(self, resource: dict) -> dict:
        return self.value(resource.get("Properties", {}))

    def _ref(self, name: str):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return ResourceRef(name)
        return PSEUDO.get(name, OPAQUE)

    def _if(self, arg):
        name, then, otherwise = arg
        return self.value(then if self.condition(name) else otherwise)

    def _split(self, arg):
        delimiter, text = (self.value(a) for a in arg)
        return text.split(delimiter) if isinstance(text, str) else OPAQUE

    def _select(self, arg):
        index, items = (self.value(a) for a in arg)
        return items[int(index)] if isinstance(items, list) else OPAQUE

    def _join(self, arg):
        delimiter, items = arg[0], self.value(arg[1])
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return delimiter.join(items)
        return OPAQUE

    def _find_in_map(self, arg):
        keys = [self.value(a) for a in arg]
        if not all(isinstance(k, str) for k in keys):
            return OPAQUE
        table, top, second = keys
        return self.template["Mappings"][table][top][second]


_INTRINSICS = {
    "Ref": lambda r, a: r._ref(a),
    # Only a string names a condition; {"Condition": {...}} is an IAM statement's condition block.
    "Condition": lambda r, a: r.condition(a) if isinstance(a, str) else {"Condition": r.value(a)},
    "Fn::If": Resolver._if,
    "Fn::Split": Resolver._split,
    "Fn::Select": Resolver._select,
    "Fn::Join": Resolver._join,
    "Fn::FindInMap": Resolver._find_in_map,
}


def _count(items, what: str) -> int:
    if not isinstance(items, list):
        raise UnpricedResource(f"cannot tell how many {what} there are before deployment")
    return len(items)


def _as_bool(value) -> bool:
    return value is True or str(value).lower() == "true"


class Pricer:
    """Prices the created resources of one template under one parameter set."""

    def __init__(self, template: dict, values: dict[str, str], prices: dict):
        self.resolver = Resolver(template, values)
        self.prices = prices
        self.hours = prices["hours_per_month"]

    # -- unit prices ---------------------------------------------------------------------------

    def _lookup(self, table: dict, key, what: str):
        if not isinstance(key, str) or key not in table:
            raise UnpricedResource(f"{what} {key!r} has no price in {PRICES_PATH.name}")
        return table[key]

    def per_vcpu_hour(self, instance_types: list) -> tuple[float, str, int]:
        """The cheapest per-vCPU on-demand rate among Batch's instance families or types."""
        ec2 = self.prices["ec2"]
        offers = []
        for entry in instance_types:
            name = entry if "." in entry else f"{entry}.{ec2['family_size']}"
            offer = self._lookup(ec2["on_demand"], name, "EC2 instance type")
            offers.append((offer["hourly"] / offer["vcpus"], name, offer["vcpus"]))
        if not offers:
            raise UnpricedResource("a Batch EC2 compute environment lists no instance types")
        return min(offers)

    def fargate_hourly(self, vcpu: float, gb: float, arch: str = "X86_64") -> float:
        fargate = self.prices["fargate"]
        rate = self._lookup(fargate["vcpu_hour"], arch, "Fargate architecture")
        return vcpu * rate + gb * fargate["gb_hour"][arch]

    def ipv4(self, count: int, why: str) -> list[Line]:
        hourly = self.prices["vpc"]["public_ipv4_hour"]
        return (
            [Line("public IPv4", f"{count} x {why}", count * hourly * self.hours)] if count else []
        )

    # -- resources -----------------------------------------------------------------------------

    def estimate(self, queue_output: str | None = None) -> Estimate:
        r = self.resolver
        lines, free, created = [], [], 0
        for name, resource in r.resources.items():
            if not r.created(resource):
                continue
            created += 1
            kind = resource["Type"]
            price = _PRICERS.get(kind)
            if price:
                lines += price(self, name, r.properties(resource))
            elif kind in self.prices["free_at_idle"]:
                free.append(kind)
            else:
                raise UnpricedResource(
                    f"resource {name} of type {kind} is neither priced by tools/cost_model.py "
                    "nor listed under free_at_idle in tools/prices.json"
                )
        return Estimate(lines, created, free, self.batch_work(queue_output))

    def database(self, name: str, props: dict) -> list[Line]:
        rds = self.prices["rds"]
        if props.get("Engine") != "postgres":
            raise UnpricedResource(f"{name}: only the postgres engine is priced")
        db_class = props.get("DBInstanceClass")
        factor = rds["multi_az_factor"] if _as_bool(props.get("MultiAZ", False)) else 1
        hourly = self._lookup(rds["postgres_hourly"], db_class, "RDS instance class")
        storage_type = props.get("StorageType", "gp2")
        gb = float(props.get("AllocatedStorage", 20))
        gb_month = self._lookup(rds["storage_gb_month"], storage_type, "RDS storage type")
        multi = " Multi-AZ" if factor > 1 else ""
        lines = [
            Line("database", f"{db_class}{multi} PostgreSQL", factor * hourly * self.hours),
            Line("database", f"{gb:g} GB {storage_type}{multi} storage", factor * gb * gb_month),
        ]
        if _as_bool(props.get("ManageMasterUserPassword", False)):
            lines.append(
                Line(
                    "secrets",
                    "RDS-managed master password",
                    self.prices["secretsmanager"]["secret_month"],
                )
            )
        return lines

    def service(self, name: str, props: dict) -> list[Line]:
        task_ref = props.get("TaskDefinition")
        if not isinstance(task_ref, ResourceRef):
            raise UnpricedResource(f"{name}: task definition is not one of this template's")
        task = self.resolver.properties(self.resolver.resources[task_ref.name])
        if "FARGATE" not in task.get("RequiresCompatibilities", []):
            raise UnpricedResource(f"{name}: only Fargate services are priced")
        vcpu = float(task["Cpu"]) / 1024
        gb = float(task["Memory"]) / 1024
        arch = task.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64")
        count = int(props.get("DesiredCount", 1))
        providers = {s["CapacityProvider"] for s in props.get("CapacityProviderStrategy", [])}
        spot = providers == {"FARGATE_SPOT"}
        hourly = self.fargate_hourly(vcpu, gb, arch) * (1 - self.prices["spot"]["discount"] * spot)
        label = f"{count} x {vcpu:g} vCPU / {gb:g} GB {arch}{' Spot' if spot else ''}"
        lines = [Line("Fargate service", label, count * hourly * self.hours)]
        network = props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        if network.get("AssignPublicIp") == "ENABLED":
            lines += self.ipv4(count, "Fargate task")
        return lines

    def load_balancer(self, name: str, props: dict) -> list[Line]:
        elb = self.prices["elb"]
        kind = props.get("Type", "application")
        hourly = self._lookup(elb["hourly"], kind, "load balancer type")
        lcu = elb["idle_lcu"] * elb["lcu_hour"][kind]
        lines = [
            Line("load balancer", f"{kind} load balancer", hourly * self.hours),
            Line("load balancer", f"{elb['idle_lcu']:g} idle LCU (assumed)", lcu * self.hours),
        ]
        if props.get("Scheme") == "internet-facing":
            zones = _count(props.get("Subnets", props.get("SubnetMappings", [])), "zones")
            lines += self.ipv4(zones, "load balancer zone")
        return lines

    def nat_gateway(self, name: str, props: dict) -> list[Line]:
        return [
            Line("NAT", f"NAT gateway {name}", self.prices["vpc"]["nat_gateway_hour"] * self.hours)
        ]

    def elastic_ip(self, name: str, props: dict) -> list[Line]:
        return self.ipv4(1, f"Elastic IP {name}")

    def endpoint(self, name: str, props: dict) -> list[Line]:
        if props.get("VpcEndpointType", "Gateway") == "Gateway":
            return []
        zones = _count(props.get("SubnetIds", []), f"subnets of endpoint {name}")
        hourly = self.prices["vpc"]["interface_endpoint_az_hour"]
        return [Line("endpoints", f"{name} x {zones} AZ", zones * hourly * self.hours)]

    def notebook(self, name: str, props: dict) -> list[Line]:
        kind = props.get("InstanceType")
        hourly = self._lookup(self.prices["sagemaker"]["notebook_hourly"], kind, "notebook type")
        return [Line("notebook", f"SageMaker notebook {kind}", hourly * self.hours)]

    def secret(self, name: str, props: dict) -> list[Line]:
        return [Line("secrets", f"secret {name}", self.prices["secretsmanager"]["secret_month"])]

    def kms_key(self, name: str, props: dict) -> list[Line]:
        return [Line("keys", f"KMS key {name}", self.prices["kms"]["key_month"])]

    def table(self, name: str, props: dict) -> list[Line]:
        if props.get("BillingMode") != "PAY_PER_REQUEST":
            raise UnpricedResource(f"{name}: only on-demand DynamoDB tables are priced")
        return [Line("DynamoDB", f"{name} (on demand)", 0.0)]

    def compute_environment(self, name: str, props: dict) -> list[Line]:
        resources = props.get("ComputeResources", {})
        kind = resources.get("Type")
        min_vcpus = int(resources.get("MinvCpus", 0) or 0)
        if kind in ("FARGATE", "FARGATE_SPOT") or min_vcpus == 0:
            return []
        if kind not in ("EC2", "SPOT"):
            raise UnpricedResource(f"{name}: compute type {kind!r} is not priced")
        rate, instance, vcpus = self.per_vcpu_hour(resources.get("InstanceTypes", []))
        spot = self.prices["spot"]["discount"] if kind == "SPOT" else 0
        instances = math.ceil(min_vcpus / vcpus)
        label = f"{min_vcpus} vCPUs always on ({instances} x {instance}{' Spot' if spot else ''})"
        lines = [Line("Batch", label, min_vcpus * rate * (1 - spot) * self.hours)]
        if self._public_subnets(resources.get("Subnets", [])):
            lines += self.ipv4(instances, "Batch instance")
        return lines

    def _public_subnets(self, subnets: list) -> bool:
        """Whether instances launched in `subnets` get public addresses (unknown subnets: no)."""
        r = self.resolver
        return any(
            isinstance(s, ResourceRef)
            and _as_bool(r.properties(r.resources[s.name]).get("MapPublicIpOnLaunch", False))
            for s in subnets
        )

    # -- work ----------------------------------------------------------------------------------

    def batch_work(self, queue_output: str | None) -> tuple[float, float] | None:
        """1,000 vCPU-hours on the first compute environment of the queue `queue_output` names."""
        r = self.resolver
        output = r.template.get("Outputs", {}).get(queue_output or "")
        queue = r.value(output["Value"]) if output else None
        if not isinstance(queue, ResourceRef):
            return None
        order = r.properties(r.resources[queue.name])["ComputeEnvironmentOrder"]
        first = min(order, key=lambda entry: int(entry["Order"]))["ComputeEnvironment"]
        resources = r.properties(r.resources[first.name])["ComputeResources"]
        if resources["Type"] in ("FARGATE", "FARGATE_SPOT"):
            gb = self.prices["batch_work"]["fargate_gb_per_vcpu"]
            rate = self.fargate_hourly(1, gb)
        else:
            rate = self.per_vcpu_hour(resources["InstanceTypes"])[0]
        on_demand = 1000 * rate
        return on_demand, on_demand * (1 - self.prices["spot"]["discount"])


_PRICERS = {
    "AWS::RDS::DBInstance": Pricer.database,
    "AWS::ECS::Service": Pricer.service,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Pricer.load_balancer,
    "AWS::EC2::NatGateway": Pricer.nat_gateway,
    "AWS::EC2::EIP": Pricer.elastic_ip,
    "AWS::EC2::VPCEndpoint": Pricer.endpoint,
    "AWS::SageMaker::NotebookInstance": Pricer.notebook,
    "AWS::SecretsManager::Secret": Pricer.secret,
    "AWS::KMS::Key": Pricer.kms_key,
    "AWS::DynamoDB::Table": Pricer.table,
    "AWS::Batch::ComputeEnvironment": Pricer.compute_environment,
}


def estimate(
    template: dict, values: dict[str, str], prices: dict | None = None, queue_output=None
) -> Estimate:
    return Pricer(template, values, prices or load_prices()).estimate(queue_output)
