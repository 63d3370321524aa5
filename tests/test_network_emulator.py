"""The private and isolated parameter files deployed into the emulator, inspected through the EC2,
ECS and SageMaker APIs as an auditor would inspect a real account."""

import pytest

from demo.deploy import deploy, load_parameters
from templates_src.endpoints import ENDPOINTS

DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")
ISOLATED = "mf-net-isolated"


def vpc_filter(vpc_id: str) -> list[dict]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]


def route_table_of(ec2, subnet_id: str) -> dict:
    (table,) = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["RouteTables"]
    return table


def default_route(table: dict) -> dict | None:
    routes = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    return routes[0] if routes else None


@pytest.fixture(scope="module")
def isolated(aws):
    # With the notebook, so its client endpoints are created and its internet access checked.
    parameters = load_parameters("isolated", {"EnableNotebook": "true"})
    return deploy(ISOLATED, parameters, session=aws)


@pytest.mark.parametrize("nat", ["one", "per-zone"])
def test_private_workloads_default_route_goes_to_a_nat_gateway(aws, nat):
    outputs = deploy(
        f"mf-net-private-{nat}", load_parameters("private", {"NatGateways": nat}), session=aws
    )
    ec2 = aws.client("ec2")
    nats = {
        n["NatGatewayId"]: n
        for n in ec2.describe_nat_gateways(Filters=vpc_filter(outputs["VpcId"]))["NatGateways"]
    }
    assert len(nats) == (1 if nat == "one" else 2)
    used = set()
    for subnet_id in outputs["SubnetIds"].split(","):
        (subnet,) = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
        assert subnet["MapPublicIpOnLaunch"] is False
        route = default_route(route_table_of(ec2, subnet_id))
        assert route and route.get("NatGatewayId") in nats, route
        used.add(route["NatGatewayId"])
        if nat == "per-zone":
            (nat_subnet,) = ec2.describe_subnets(
                SubnetIds=[nats[route["NatGatewayId"]]["SubnetId"]]
            )["Subnets"]
            assert nat_subnet["AvailabilityZone"] == subnet["AvailabilityZone"]
    assert used == set(nats)
    # The NAT gateways themselves sit where the internet gateway is the way out.
    for gateway in nats.values():
        route = default_route(route_table_of(ec2, gateway["SubnetId"]))
        assert route["GatewayId"].startswith("igw-")


def test_isolated_vpc_has_no_gateway_to_the_internet(aws, isolated):
    ec2 = aws.client("ec2")
    vpc = isolated["VpcId"]
    attached = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}]
    )["InternetGateways"]
    assert attached == []
    assert ec2.describe_nat_gateways(Filters=vpc_filter(vpc))["NatGateways"] == []
    egress_only = ec2.describe_egress_only_internet_gateways()["EgressOnlyInternetGateways"]
    assert not [g for g in egress_only if any(a["VpcId"] == vpc for a in g["Attachments"])]
    tables = ec2.describe_route_tables(Filters=vpc_filter(vpc))["RouteTables"]
    assert tables
    for table in tables:
        for route in table["Routes"]:
            destination = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
            assert destination not in DEFAULT_ROUTES, (table["RouteTableId"], route)
    subnets = ec2.describe_subnets(Filters=vpc_filter(vpc))["Subnets"]
    assert {s["SubnetId"] for s in subnets} == set(isolated["SubnetIds"].split(","))
    assert not [s["SubnetId"] for s in subnets if s["MapPublicIpOnLaunch"]]


def test_isolated_vpc_reaches_aws_through_endpoints_with_private_dns(aws, isolated):
    ec2 = aws.client("ec2")
    endpoints = ec2.describe_vpc_endpoints(Filters=vpc_filter(isolated["VpcId"]))["VpcEndpoints"]
    region = aws.region_name
    by_service = {e["ServiceName"].removeprefix(f"com.amazonaws.{region}."): e for e in endpoints}
    assert set(by_service) == set(ENDPOINTS) | {"s3", "dynamodb"}
    for service in ENDPOINTS:
        endpoint = by_service[service]
        assert endpoint["VpcEndpointType"] == "Interface"
        assert endpoint["PrivateDnsEnabled"] is True
        assert set(endpoint["SubnetIds"]) == set(isolated["SubnetIds"].split(","))
    # Gateway endpoints: routes in the workload subnets' tables, no network interfaces.
    tables = {route_table_of(ec2, s)["RouteTableId"] for s in isolated["SubnetIds"].split(",")}
    for service in ("s3", "dynamodb"):
        assert set(by_service[service]["RouteTableIds"]) == tables
        assert not by_service[service].get("SubnetIds")


def test_isolated_workloads_get_no_public_address(aws, isolated):
    cfn = aws.client("cloudformation")

    ids = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName=ISOLATED)["StackResourceSummaries"]
    }
    physical_id = ids.__getitem__

    ecs = aws.client("ecs")
    (service,) = ecs.describe_services(
        cluster=physical_id("Cluster"), services=[physical_id("MetadataService")]
    )["services"]
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    notebook = aws.client("sagemaker").describe_notebook_instance(
        # The notebook's physical id is its ARN, as in AWS.
        NotebookInstanceName=physical_id("Notebook").rsplit("/", 1)[1]
    )
    assert notebook["SubnetId"] in isolated["SubnetIds"].split(",")
    assert notebook["DirectInternetAccess"] == "Disabled"
    assert isolated["BatchContainerRegistry"].endswith("/cache/ecr-public/docker/library")
