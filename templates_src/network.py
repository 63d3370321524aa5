"""Network: a new VPC across two availability zones, or an existing VPC and its subnets.

Other modules see only the handles: where workloads run (`subnet_ids`), whether they need a public
address to reach AWS (`assign_public_ip`), and the VPC's id and address range for security groups.
"""

from dataclasses import dataclass

from troposphere import Cidr, GetAtt, GetAZs, If, Join, Ref, Select, Split, Tags, ec2

from .base import Stack

CREATE_VPC = "CreateVpc"
USE_EXISTING = "UseExistingVpc"
AZ_COUNT = 2


@dataclass
class Network:
    vpc_id: object
    vpc_cidr: object
    subnet_ids: object
    # "ENABLED" where tasks reach AWS through an internet gateway and so need a public address.
    assign_public_ip: object
    # "Enabled" where a notebook reaches AWS only through SageMaker's own internet access.
    notebook_internet: object

    @property
    def subnet_list(self):
        return Join(",", self.subnet_ids)

    @property
    def first_subnet(self):
        return Select(0, self.subnet_ids)


def add_network(stack: Stack) -> Network:
    t = stack.template
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
        Description="With an existing VPC: two or more comma-separated subnets in different "
        "availability zones whose route tables already reach AWS APIs.",
    )
    existing_cidr = stack.parameter(
        "Network",
        "ExistingVpcCidr",
        "Existing VPC address range",
        Type="String",
        Default="10.0.0.0/16",
        AllowedPattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$",
        Description="With an existing VPC: its CIDR block, the only source the metadata "
        "service accepts traffic from. For a new VPC: the range it gets.",
    )
    # Both or neither: the rule rejects half an existing network at deploy time, and a condition
    # over both lets cfn-lint see that neither default ("") reaches a resource that uses them.
    given = [
        {"Fn::Not": [{"Fn::Equals": [existing_vpc, ""]}]},
        {"Fn::Not": [{"Fn::Equals": [existing_subnets, ""]}]},
    ]
    stack.condition(USE_EXISTING, {"Fn::And": given})
    stack.condition(CREATE_VPC, {"Fn::Not": [{"Condition": USE_EXISTING}]})
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
    gateway = t.add_resource(ec2.InternetGateway("InternetGateway", Condition=CREATE_VPC))
    attachment = t.add_resource(
        ec2.VPCGatewayAttachment(
            "InternetGatewayAttachment",
            Condition=CREATE_VPC,
            VpcId=Ref(vpc),
            InternetGatewayId=Ref(gateway),
        )
    )
    routes = t.add_resource(
        ec2.RouteTable("PublicRouteTable", Condition=CREATE_VPC, VpcId=Ref(vpc))
    )
    t.add_resource(
        ec2.Route(
            "PublicDefaultRoute",
            Condition=CREATE_VPC,
            DependsOn=attachment.title,
            RouteTableId=Ref(routes),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(gateway),
        )
    )
    subnet_blocks = Cidr(GetAtt(vpc, "CidrBlock"), AZ_COUNT * 2, 12)
    subnets = []
    for index in range(AZ_COUNT):
        subnet = t.add_resource(
            ec2.Subnet(
                f"PublicSubnet{index + 1}",
                Condition=CREATE_VPC,
                VpcId=Ref(vpc),
                # An empty argument means "this region" to AWS; moto rejects Ref(AWS::Region) here.
                AvailabilityZone=Select(index, GetAZs("")),
                CidrBlock=Select(index, subnet_blocks),
                MapPublicIpOnLaunch=True,
                Tags=Tags(Name=Join("-", [Ref("AWS::StackName"), f"public-{index + 1}"])),
            )
        )
        t.add_resource(
            ec2.SubnetRouteTableAssociation(
                f"PublicSubnet{index + 1}Routes",
                Condition=CREATE_VPC,
                SubnetId=Ref(subnet),
                RouteTableId=Ref(routes),
            )
        )
        subnets.append(Ref(subnet))

    return Network(
        vpc_id=If(CREATE_VPC, Ref(vpc), existing_vpc),
        vpc_cidr=existing_cidr,
        subnet_ids=If(CREATE_VPC, subnets, Split(",", existing_subnets)),
        assign_public_ip=If(CREATE_VPC, "ENABLED", "DISABLED"),
        notebook_internet=If(CREATE_VPC, "Enabled", "Disabled"),
    )
