"""Network: a new VPC across two availability zones, or an existing VPC and its subnets, in one of
three modes.

- public: workloads in public subnets behind an internet gateway.
- private: workloads in private subnets; NAT gateway(s) in small public subnets give egress.
- isolated: no internet gateway, NAT or default route, no public address anywhere; AWS APIs are
  reached through VPC endpoints (endpoints.py) and images through ECR pull-through caches.

Other modules see only the handles: where workloads run (`subnet_ids`), whether they get a public
address (`assign_public_ip`, `notebook_internet`), the egress their security groups allow
(`egress`), where images come from (`docker_hub_image`, `grant_cached_pulls`), and the VPC's id
and address range.
"""

from dataclasses import dataclass

from awacs import ecr as ecr_actions
from troposphere import Cidr, GetAtt, GetAZs, If, Join, Ref, Select, Split, Sub, Tags, ec2, ecr

from .base import NO_VALUE, Stack, when
from .iam import Grantee, partition_arn

CREATE_VPC = "CreateVpc"
USE_EXISTING = "UseExistingVpc"
ISOLATED = "Isolated"
NEW_ISOLATED = "NewIsolatedVpc"
NEW_PRIVATE = "NewPrivateVpc"  # a new VPC with NAT
NAT_PER_ZONE = "NatPerZone"
INTERNET = "NewInternetVpc"  # a new VPC with an internet gateway (public or private mode)
PRIVATE_ROUTES = "NewPrivateRoutes"  # a new VPC whose workload subnets are private
PUBLIC_IPS = "PublicIps"  # workloads get public addresses (new VPC, public mode)
AZ_COUNT = 2
# Repository prefixes of the pull-through caches; a cached image is <registry>/<prefix>/<path>.
# Docker Hub's rule needs credentials a template cannot hold: it is made next to its secret.
CACHE = "cache"
ECR_PUBLIC_CACHE = f"{CACHE}/ecr-public"
DOCKER_HUB_CACHE = f"{CACHE}/docker-hub"
REGISTRY = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"


@dataclass
class Network:
    vpc_id: object
    vpc_cidr: object
    subnet_ids: object
    # "ENABLED" where tasks reach AWS through an internet gateway and so need a public address.
    assign_public_ip: object
    # "Enabled" where a notebook reaches AWS only through SageMaker's own internet access.
    notebook_internet: object
    # Security group egress: isolated, the VPC and HTTPS to the gateway endpoints; else the default.
    egress: object
    # The VPC and workload subnets the stack creates, for what it adds only to its own VPC.
    new_vpc_id: object
    new_subnet_ids: list

    @property
    def subnet_list(self):
        return Join(",", self.subnet_ids)

    @property
    def first_subnet(self):
        return Select(0, self.subnet_ids)

    @property
    def batch_container_registry(self):
        """Where Batch jobs find Metaflow's default `python:X.Y` image with no internet: the ECR
        Public copy of Docker's official images, through the cache."""
        return Sub(f"{REGISTRY}/{ECR_PUBLIC_CACHE}/docker/library")

    @staticmethod
    def docker_hub_image(image: Ref):
        """A Docker Hub image, or (isolated) its copy in this account's registry where a Docker Hub
        cache puts it, and where a mirror of it can be pushed instead."""
        name = image.data["Ref"]
        return If(ISOLATED, Sub(f"{REGISTRY}/{DOCKER_HUB_CACHE}/${{{name}}}"), image)

    @staticmethod
    def grant_cached_pulls(role: Grantee, login: bool = False) -> None:
        """`role` may pull through the caches: the first pull of an image imports it into a
        repository the cache creates. `login`: the role has no ECR pull rights otherwise."""
        pulls = [ecr_actions.BatchGetImage, ecr_actions.GetDownloadUrlForLayer] if login else []
        role.allow(
            [*pulls, ecr_actions.BatchImportUpstreamImage, ecr_actions.CreateRepository],
            [partition_arn("ecr", f"repository/{CACHE}/*")],
        )
        if login:
            # GetAuthorizationToken has no resource-level permissions.
            role.allow([ecr_actions.GetAuthorizationToken], ["*"])


def add_network(stack: Stack) -> Network:
    t = stack.template
    mode = stack.parameter(
        "Network",
        "NetworkMode",
        "Network mode",
        Type="String",
        Default="public",
        AllowedValues=["public", "private", "isolated"],
        Description="public: internet gateway. private: NAT egress. isolated: no internet, "
        "VPC endpoints.",
    )
    nat = stack.parameter(
        "Network",
        "NatGateways",
        "NAT gateways (private)",
        Type="String",
        Default="one",
        AllowedValues=["one", "per-zone"],
        Description="one: cheaper. per-zone: survives losing a zone.",
    )
    existing_vpc = stack.parameter(
        "Network",
        "ExistingVpcId",
        "Existing VPC",
        Type="String",
        Default="",
        AllowedPattern=r"^(vpc-[0-9a-f]{8,17})?$",
        Description="Deploy into this VPC instead of creating one. Empty: a new VPC.",
    )
    existing_subnets = stack.parameter(
        "Network",
        "ExistingSubnetIds",
        "Existing subnets",
        Type="String",
        Default="",
        AllowedPattern=r"^(subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17})+)?$",
        Description="With ExistingVpcId: 2+ comma-separated subnets in different zones that "
        "already reach AWS APIs.",
    )
    existing_cidr = stack.parameter(
        "Network",
        "ExistingVpcCidr",
        "Existing VPC address range",
        Type="String",
        Default="10.0.0.0/16",
        AllowedPattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$",
        Description="A new VPC's range, or an existing VPC's: the only source the metadata "
        "service accepts.",
    )
    # Both or neither: the rule rejects half an existing network at deploy time, and a condition
    # over both lets cfn-lint see that neither default ("") reaches a resource that uses them.
    given = [
        {"Fn::Not": [{"Fn::Equals": [existing_vpc, ""]}]},
        {"Fn::Not": [{"Fn::Equals": [existing_subnets, ""]}]},
    ]
    stack.condition(USE_EXISTING, {"Fn::And": given})
    stack.condition(CREATE_VPC, {"Fn::Not": [{"Condition": USE_EXISTING}]})
    stack.condition(ISOLATED, {"Fn::Equals": [mode, "isolated"]})
    new_vpc = {"Condition": CREATE_VPC}
    stack.condition(NEW_PRIVATE, {"Fn::And": [new_vpc, {"Fn::Equals": [mode, "private"]}]})
    stack.condition(
        NAT_PER_ZONE, {"Fn::And": [{"Condition": NEW_PRIVATE}, {"Fn::Equals": [nat, "per-zone"]}]}
    )
    stack.condition(PUBLIC_IPS, {"Fn::And": [new_vpc, {"Fn::Equals": [mode, "public"]}]})
    stack.condition(NEW_ISOLATED, {"Fn::And": [new_vpc, {"Condition": ISOLATED}]})
    stack.condition(INTERNET, {"Fn::And": [new_vpc, {"Fn::Not": [{"Condition": ISOLATED}]}]})
    stack.condition(
        PRIVATE_ROUTES, {"Fn::And": [new_vpc, {"Fn::Not": [{"Condition": PUBLIC_IPS}]}]}
    )
    t.add_rule(
        "ExistingNetworkComplete",
        {
            "RuleCondition": {"Fn::Or": given},
            "Assertions": [
                {
                    "Assert": {"Fn::And": given},
                    "AssertDescription": "Give ExistingVpcId and ExistingSubnetIds, or neither.",
                }
            ],
        },
    )
    t.add_rule(
        "IsolatedComputeOnEc2",
        {
            "RuleCondition": {"Fn::Equals": [mode, "isolated"]},
            "Assertions": [
                {
                    # Metaflow asks for a public address for every Fargate job.
                    "Assert": {"Fn::Equals": [Ref("ComputeType"), "EC2"]},
                    "AssertDescription": "isolated needs ComputeType EC2.",
                },
            ],
        },
    )

    vpc = t.add_resource(
        ec2.VPC(
            "Vpc",
            Condition=CREATE_VPC,
            CidrBlock=existing_cidr,
            EnableDnsHostnames=True,
            EnableDnsSupport=True,
            Tags=Tags(Name=Ref("AWS::StackName")),
        )
    )
    gateway = t.add_resource(ec2.InternetGateway("InternetGateway", Condition=INTERNET))
    attachment = t.add_resource(
        ec2.VPCGatewayAttachment(
            "InternetGatewayAttachment",
            Condition=INTERNET,
            VpcId=Ref(vpc),
            InternetGatewayId=Ref(gateway),
        )
    )
    public_routes = t.add_resource(
        ec2.RouteTable("PublicRouteTable", Condition=INTERNET, VpcId=Ref(vpc))
    )
    t.add_resource(
        ec2.Route(
            "PublicDefaultRoute",
            Condition=INTERNET,
            DependsOn=attachment.title,
            RouteTableId=Ref(public_routes),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(gateway),
        )
    )
    # Blocks 0-1 hold the workload subnets, 2-3 the NAT subnets of private mode.
    blocks = Cidr(GetAtt(vpc, "CidrBlock"), AZ_COUNT * 2, 12)
    # One private route table per NAT; without NAT (isolated) one table with no default route.
    private_routes = [
        t.add_resource(
            ec2.RouteTable(
                f"PrivateRouteTable{zone + 1}",
                Condition=NAT_PER_ZONE if zone else PRIVATE_ROUTES,
                VpcId=Ref(vpc),
            )
        )
        for zone in range(AZ_COUNT)
    ]
    subnets = []
    for zone in range(AZ_COUNT):
        number = zone + 1
        # An empty argument means "this region" to AWS; moto rejects Ref(AWS::Region) here.
        where = Select(zone, GetAZs(""))
        subnet = t.add_resource(
            ec2.Subnet(
                f"Subnet{number}",
                Condition=CREATE_VPC,
                VpcId=Ref(vpc),
                AvailabilityZone=where,
                CidrBlock=Select(zone, blocks),
                MapPublicIpOnLaunch=If(PUBLIC_IPS, True, False),
                Tags=Tags(Name=Sub(f"${{AWS::StackName}}-{number}")),
            )
        )
        private = Ref(private_routes[0])
        if zone:
            private = If(NAT_PER_ZONE, Ref(private_routes[zone]), private)
        t.add_resource(
            ec2.SubnetRouteTableAssociation(
                f"Subnet{number}Routes",
                Condition=CREATE_VPC,
                SubnetId=Ref(subnet),
                RouteTableId=If(PUBLIC_IPS, Ref(public_routes), private),
            )
        )
        subnets.append(Ref(subnet))

        # Private mode: a NAT gateway in a public subnet of this zone (the second zone's only
        # with one NAT per zone).
        per_zone = NAT_PER_ZONE if zone else NEW_PRIVATE
        nat_subnet = t.add_resource(
            ec2.Subnet(
                f"NatSubnet{number}",
                Condition=per_zone,
                VpcId=Ref(vpc),
                AvailabilityZone=where,
                CidrBlock=Select(AZ_COUNT + zone, blocks),
            )
        )
        t.add_resource(
            ec2.SubnetRouteTableAssociation(
                f"NatSubnet{number}Routes",
                Condition=per_zone,
                SubnetId=Ref(nat_subnet),
                RouteTableId=Ref(public_routes),
            )
        )
        address = t.add_resource(
            ec2.EIP(
                f"NatAddress{number}",
                Condition=per_zone,
                DependsOn=attachment.title,
                Domain="vpc",
            )
        )
        nat_gateway = t.add_resource(
            ec2.NatGateway(
                f"NatGateway{number}",
                Condition=per_zone,
                SubnetId=Ref(nat_subnet),
                AllocationId=GetAtt(address, "AllocationId"),
            )
        )
        t.add_resource(
            ec2.Route(
                f"PrivateDefaultRoute{number}",
                Condition=per_zone,
                RouteTableId=Ref(private_routes[zone]),
                DestinationCidrBlock="0.0.0.0/0",
                NatGatewayId=Ref(nat_gateway),
            )
        )

    # S3 and DynamoDB through gateway endpoints from private subnets: they cost nothing, spare
    # private mode the NAT's per-GB charge, and are isolated mode's only way to both.
    workload_routes = [Ref(private_routes[0]), when(NAT_PER_ZONE, Ref(private_routes[1]))]
    for service, name in (("s3", "S3"), ("dynamodb", "DynamoDb")):
        t.add_resource(
            ec2.VPCEndpoint(
                f"{name}Endpoint",
                Condition=PRIVATE_ROUTES,
                VpcId=Ref(vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                RouteTableIds=workload_routes,
            )
        )

    t.add_resource(
        ecr.PullThroughCacheRule(
            "EcrPublicCache",
            Condition=ISOLATED,
            EcrRepositoryPrefix=ECR_PUBLIC_CACHE,
            UpstreamRegistryUrl="public.ecr.aws",
        )
    )
    # Isolated: the VPC, and HTTPS to anywhere, which with no default route reaches only the S3
    # and DynamoDB gateway endpoints. CloudFormation cannot look up those endpoints' prefix-list
    # ids, and a parameter for them would tie every isolated deployment to one region.
    isolated_egress = [
        ec2.SecurityGroupRule(IpProtocol="-1", CidrIp=existing_cidr, Description="VPC"),
        ec2.SecurityGroupRule(
            IpProtocol="tcp",
            FromPort=443,
            ToPort=443,
            CidrIp="0.0.0.0/0",
            Description="S3, DynamoDB gateway endpoints",
        ),
    ]
    public = If(PUBLIC_IPS, "ENABLED", "DISABLED")
    return Network(
        vpc_id=If(CREATE_VPC, Ref(vpc), existing_vpc),
        vpc_cidr=existing_cidr,
        subnet_ids=If(CREATE_VPC, subnets, Split(",", existing_subnets)),
        assign_public_ip=public,
        notebook_internet=If(PUBLIC_IPS, "Enabled", "Disabled"),
        new_vpc_id=Ref(vpc),
        new_subnet_ids=subnets,
        # Elsewhere AWS's default egress rule applies: all outbound.
        egress=If(ISOLATED, isolated_egress, NO_VALUE),
    )
