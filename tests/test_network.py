"""Network modes decided from the template alone: which resources each mode creates, where workloads
route, which endpoints exist, and that nothing in isolated mode can reach or be reached from the
internet (conditions evaluated by tools/cfn_eval.py)."""

import json

import pytest

from templates_src.configurations import EXAMPLE_SUBNETS, EXAMPLE_VPC
from templates_src.endpoints import ENDPOINTS, logical_id
from tools.cfn_eval import resources

EXISTING = {"ExistingVpcId": EXAMPLE_VPC, "ExistingSubnetIds": EXAMPLE_SUBNETS}
ALWAYS = {"ecr.api", "ecr.dkr", "logs", "secretsmanager"}
ECS_AGENT = {"ecs", "ecs-agent", "ecs-telemetry"}
NOTEBOOK_CLIENT = {"batch", "states", "events"}
INTERNET_TYPES = {"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"}


def of_type(active: dict, type_name: str) -> dict:
    return {name: r["Properties"] for name, r in active.items() if r["Type"] == type_name}


def interface_services(active: dict) -> set[str]:
    return {
        props["ServiceName"]["Fn::Sub"].rsplit("}.", 1)[1]
        for props in of_type(active, "AWS::EC2::VPCEndpoint").values()
        if props.get("VpcEndpointType") == "Interface"
    }


def default_routes(active: dict) -> dict[str, dict]:
    """Route table logical id -> target of its 0.0.0.0/0 route."""
    return {
        props["RouteTableId"]["Ref"]: props
        for props in of_type(active, "AWS::EC2::Route").values()
        if props.get("DestinationCidrBlock") == "0.0.0.0/0"
    }


def workload_route_tables(active: dict) -> dict[str, str]:
    """Workload subnet -> its route table."""
    return {
        props["SubnetId"]["Ref"]: props["RouteTableId"]["Ref"]
        for props in of_type(active, "AWS::EC2::SubnetRouteTableAssociation").values()
        if props["SubnetId"]["Ref"] in {"Subnet1", "Subnet2"}
    }


def test_public_is_the_default_and_routes_workloads_to_the_internet_gateway(template):
    active = resources(template)
    types = {r["Type"] for r in active.values()}
    assert INTERNET_TYPES & types == {"AWS::EC2::InternetGateway"}
    assert set(workload_route_tables(active).values()) == {"PublicRouteTable"}
    assert "GatewayId" in default_routes(active)["PublicRouteTable"]
    assert all(p["MapPublicIpOnLaunch"] for p in of_type(active, "AWS::EC2::Subnet").values())
    assert interface_services(active) == set()
    service = active["MetadataService"]["Properties"]["NetworkConfiguration"]
    assert service["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"


@pytest.mark.parametrize("nat", ["one", "per-zone"])
def test_private_workloads_leave_through_nat_in_public_subnets(template, nat):
    active = resources(template, {"NetworkMode": "private", "NatGateways": nat})
    nats = of_type(active, "AWS::EC2::NatGateway")
    assert len(nats) == (1 if nat == "one" else 2)
    routes = default_routes(active)
    tables = workload_route_tables(active)
    assert len(set(tables.values())) == len(nats)
    for subnet, table in tables.items():
        assert routes[table]["NatGatewayId"]["Ref"] in nats
        assert active[subnet]["Properties"]["MapPublicIpOnLaunch"] is False
    # Per zone, each workload subnet uses the NAT in its own zone.
    if nat == "per-zone":
        for subnet, table in tables.items():
            gateway = nats[routes[table]["NatGatewayId"]["Ref"]]
            nat_subnet = active[gateway["SubnetId"]["Ref"]]["Properties"]
            assert (
                nat_subnet["AvailabilityZone"] == active[subnet]["Properties"]["AvailabilityZone"]
            )
    # NAT subnets route to the internet gateway; they hold nothing else.
    for gateway in nats.values():
        (association,) = (
            p
            for p in of_type(active, "AWS::EC2::SubnetRouteTableAssociation").values()
            if p["SubnetId"] == gateway["SubnetId"]
        )
        assert "GatewayId" in routes[association["RouteTableId"]["Ref"]]
    # S3 and DynamoDB skip the NAT's per-GB charge.
    gateways = of_type(active, "AWS::EC2::VPCEndpoint")
    assert {json.dumps(p["RouteTableIds"]) for p in gateways.values()} == {
        json.dumps([{"Ref": t} for t in sorted(set(tables.values()))])
    }
    assert interface_services(active) == set()


@pytest.mark.parametrize("notebook", ["false", "true"])
def test_isolated_has_no_way_out_and_an_endpoint_per_caller(template, notebook):
    params = {"NetworkMode": "isolated", "EnableNotebook": notebook}
    active = resources(template, params)
    text = json.dumps(active)
    assert not INTERNET_TYPES & {r["Type"] for r in active.values()}
    assert default_routes(active) == {}
    assert "::/0" not in text
    assert not any(p["MapPublicIpOnLaunch"] for p in of_type(active, "AWS::EC2::Subnet").values())
    service = active["MetadataService"]["Properties"]["NetworkConfiguration"]
    assert service["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    if notebook == "true":
        assert active["Notebook"]["Properties"]["DirectInternetAccess"] == "Disabled"
    expected = ALWAYS | ECS_AGENT | (NOTEBOOK_CLIENT if notebook == "true" else set())
    assert interface_services(active) == expected
    for props in of_type(active, "AWS::EC2::VPCEndpoint").values():
        if props.get("VpcEndpointType") == "Interface":
            assert props["PrivateDnsEnabled"] is True
    gateway_services = {
        p["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]
        for p in of_type(active, "AWS::EC2::VPCEndpoint").values()
        if "RouteTableIds" in p
    }
    assert gateway_services == {"s3", "dynamodb"}


def test_isolated_security_groups_reach_only_the_vpc_and_https(template):
    active = resources(template, {"NetworkMode": "isolated", "EnableNotebook": "true"})
    for name, props in of_type(active, "AWS::EC2::SecurityGroup").items():
        for rule in props["SecurityGroupEgress"]:
            if rule["CidrIp"] == "0.0.0.0/0":
                assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
            else:
                assert rule["CidrIp"] == {"Ref": "ExistingVpcCidr"}, name


def test_isolated_pulls_images_through_the_cache(template):
    active = resources(template, {"NetworkMode": "isolated"})
    (rule,) = of_type(active, "AWS::ECR::PullThroughCacheRule").values()
    assert rule["UpstreamRegistryUrl"] == "public.ecr.aws"
    prefix = rule["EcrRepositoryPrefix"]
    for container in active["MetadataTask"]["Properties"]["ContainerDefinitions"]:
        image = container["Image"]["Fn::Sub"]
        assert image.startswith("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/")
        assert image.endswith("/${MetadataServiceImage}")
    registry = template["Outputs"]["BatchContainerRegistry"]
    assert registry["Condition"] == "Isolated"
    assert f"/{prefix}/docker/library" in registry["Value"]["Fn::Sub"]
    # Whoever pulls may import into the cache's repositories, and nowhere else.
    for role in ("BatchInstanceRole", "MetadataExecutionRole"):
        statements = active[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        (imports,) = [s for s in statements if "ecr:BatchImportUpstreamImage" in s["Action"]]
        assert [r["Fn::Sub"].rsplit(":", 1)[1] for r in imports["Resource"]] == [
            "repository/cache/*"
        ]


def test_public_mode_keeps_images_where_they_are(template):
    active = resources(template)
    assert not of_type(active, "AWS::ECR::PullThroughCacheRule")
    for container in active["MetadataTask"]["Properties"]["ContainerDefinitions"]:
        assert container["Image"] == {"Ref": "MetadataServiceImage"}


@pytest.mark.parametrize("mode", ["public", "private", "isolated"])
def test_existing_vpc_gets_no_network_resources_in_any_mode(template, mode):
    active = resources(template, {"NetworkMode": mode, **EXISTING})
    created = {r["Type"] for r in active.values() if r["Type"].startswith("AWS::EC2::")}
    assert created <= {"AWS::EC2::SecurityGroup", "AWS::EC2::LaunchTemplate"}
    for props in of_type(active, "AWS::EC2::SecurityGroup").values():
        assert props["VpcId"] == {"Ref": "ExistingVpcId"}
    public_ip = active["MetadataService"]["Properties"]["NetworkConfiguration"]
    assert public_ip["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


def test_isolated_refuses_fargate(template):
    (assertion,) = [
        a
        for a in template["Rules"]["IsolatedComputeOnEc2"]["Assertions"]
        if "ComputeType" in json.dumps(a)
    ]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "ComputeType"}, "EC2"]}


def test_endpoint_table_names_every_interface_endpoint_once(template):
    endpoints = of_type(template["Resources"], "AWS::EC2::VPCEndpoint")
    interface = {n for n, p in endpoints.items() if p.get("VpcEndpointType") == "Interface"}
    assert interface == {logical_id(service) for service in ENDPOINTS}
