"""Service Catalog: the launch role, the catalog as CloudFormation, and the sandbox variant.

The launch role's policy is derived from the resource types the main template actually contains:
`ACTIONS` is the one table of what CloudFormation calls to create, update and delete each type, so a
new resource type fails the build until its row is added here, and a type that leaves the template
takes its permissions with it.
"""

import copy

from awacs import apigateway as apigw
from awacs import (
    batch,
    dynamodb,
    ec2,
    ecr,
    ecs,
    events,
    iam,
    kms,
    logs,
    rds,
    route53,
    s3,
    sagemaker,
)
from awacs import cloudformation as cfn
from awacs import elasticloadbalancing as elb
from awacs import secretsmanager as secrets
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import GetAtt, Output, Parameter, Ref, Sub, Template
from troposphere import iam as iam_resources
from troposphere import servicecatalog as sc

from .base import skip_checks
from .configurations import CONFIGURATIONS
from .iam import partition_arn

LAUNCH_ROLE_NAME = "MetaflowCatalogLaunchRole"
# The sandbox product's limits: generated/params/sandbox.json, plus the instance sizes, which stay
# out of that file because cfn-lint reads a list parameter's value there as one string, not a list.
SANDBOX_CAPS = {
    **CONFIGURATIONS["sandbox"],
    "InstanceTypes": "c7i.large,c7i.xlarge,m7i.large,m7i.xlarge",
}
# Service Catalog names every stack it launches "SC-<account>-pp-<id>"; CloudFormation names the
# stack's unnamed resources (roles, policies, profiles) after the stack.
LAUNCHED = "SC-*"

_TAGS = [ec2.CreateTags, ec2.DeleteTags]
_SG_RULES = [
    ec2.AuthorizeSecurityGroupIngress,
    ec2.AuthorizeSecurityGroupEgress,
    ec2.RevokeSecurityGroupIngress,
    ec2.RevokeSecurityGroupEgress,
    ec2.UpdateSecurityGroupRuleDescriptionsIngress,
    ec2.UpdateSecurityGroupRuleDescriptionsEgress,
    ec2.DescribeSecurityGroups,
    ec2.DescribeSecurityGroupRules,
]
_ELB_TAGS = [elb.AddTags, elb.RemoveTags, elb.DescribeTags]
_RDS_TAGS = [rds.AddTagsToResource, rds.RemoveTagsFromResource, rds.ListTagsForResource]
# API Gateway authorizes by HTTP verb on the resource path.
_APIGW = [apigw.GET, apigw.POST, apigw.PUT, apigw.PATCH, apigw.DELETE]
_SERVICE_LINKED = [iam.CreateServiceLinkedRole]

# Resource type -> what CloudFormation calls to create, read, update, tag and delete it.
ACTIONS: dict[str, list] = {
    "AWS::EC2::VPC": [
        ec2.CreateVpc,
        ec2.DeleteVpc,
        ec2.DescribeVpcs,
        ec2.DescribeVpcAttribute,
        ec2.ModifyVpcAttribute,
        *_TAGS,
    ],
    "AWS::EC2::InternetGateway": [
        ec2.CreateInternetGateway,
        ec2.DeleteInternetGateway,
        ec2.DescribeInternetGateways,
        *_TAGS,
    ],
    "AWS::EC2::VPCGatewayAttachment": [
        ec2.AttachInternetGateway,
        ec2.DetachInternetGateway,
        ec2.DescribeInternetGateways,
    ],
    "AWS::EC2::RouteTable": [
        ec2.CreateRouteTable,
        ec2.DeleteRouteTable,
        ec2.DescribeRouteTables,
        *_TAGS,
    ],
    "AWS::EC2::Route": [
        ec2.CreateRoute,
        ec2.ReplaceRoute,
        ec2.DeleteRoute,
        ec2.DescribeRouteTables,
    ],
    "AWS::EC2::Subnet": [
        ec2.CreateSubnet,
        ec2.DeleteSubnet,
        ec2.DescribeSubnets,
        ec2.ModifySubnetAttribute,
        ec2.DescribeAvailabilityZones,
        *_TAGS,
    ],
    "AWS::EC2::SubnetRouteTableAssociation": [
        ec2.AssociateRouteTable,
        ec2.DisassociateRouteTable,
        ec2.ReplaceRouteTableAssociation,
        ec2.DescribeRouteTables,
    ],
    "AWS::EC2::SecurityGroup": [
        ec2.CreateSecurityGroup,
        ec2.DeleteSecurityGroup,
        *_SG_RULES,
        *_TAGS,
    ],
    "AWS::EC2::SecurityGroupIngress": _SG_RULES,
    "AWS::EC2::SecurityGroupEgress": _SG_RULES,
    "AWS::EC2::LaunchTemplate": [
        ec2.CreateLaunchTemplate,
        ec2.CreateLaunchTemplateVersion,
        ec2.ModifyLaunchTemplate,
        ec2.DeleteLaunchTemplate,
        ec2.DescribeLaunchTemplates,
        ec2.DescribeLaunchTemplateVersions,
        *_TAGS,
    ],
    "AWS::EC2::EIP": [
        ec2.AllocateAddress,
        ec2.ReleaseAddress,
        ec2.DescribeAddresses,
        *_TAGS,
    ],
    "AWS::EC2::NatGateway": [
        ec2.CreateNatGateway,
        ec2.DeleteNatGateway,
        ec2.DescribeNatGateways,
        *_TAGS,
    ],
    "AWS::EC2::VPCEndpoint": [
        ec2.CreateVpcEndpoint,
        ec2.ModifyVpcEndpoint,
        ec2.DeleteVpcEndpoints,
        ec2.DescribeVpcEndpoints,
        ec2.DescribePrefixLists,
        # Interface endpoints with private DNS associate the VPC with a managed hosted zone.
        route53.AssociateVPCWithHostedZone,
        *_TAGS,
    ],
    "AWS::S3::Bucket": [
        s3.CreateBucket,
        s3.DeleteBucket,
        s3.ListBucket,
        s3.GetBucketTagging,
        s3.PutBucketTagging,
        s3.GetEncryptionConfiguration,
        s3.PutEncryptionConfiguration,
        s3.GetBucketVersioning,
        s3.PutBucketVersioning,
        s3.GetLifecycleConfiguration,
        s3.PutLifecycleConfiguration,
        s3.GetBucketPublicAccessBlock,
        s3.PutBucketPublicAccessBlock,
        s3.GetBucketOwnershipControls,
        s3.PutBucketOwnershipControls,
    ],
    "AWS::S3::BucketPolicy": [s3.GetBucketPolicy, s3.PutBucketPolicy, s3.DeleteBucketPolicy],
    "AWS::IAM::Role": [
        iam.CreateRole,
        iam.DeleteRole,
        iam.GetRole,
        iam.UpdateRole,
        iam.UpdateAssumeRolePolicy,
        iam.PutRolePolicy,
        iam.GetRolePolicy,
        iam.DeleteRolePolicy,
        iam.ListRolePolicies,
        iam.AttachRolePolicy,
        iam.DetachRolePolicy,
        iam.ListAttachedRolePolicies,
        iam.PutRolePermissionsBoundary,
        iam.DeleteRolePermissionsBoundary,
        iam.TagRole,
        iam.UntagRole,
    ],
    "AWS::IAM::InstanceProfile": [
        iam.CreateInstanceProfile,
        iam.DeleteInstanceProfile,
        iam.GetInstanceProfile,
        iam.AddRoleToInstanceProfile,
        iam.RemoveRoleFromInstanceProfile,
        iam.PassRole,
    ],
    "AWS::IAM::ManagedPolicy": [
        iam.CreatePolicy,
        iam.DeletePolicy,
        iam.GetPolicy,
        iam.CreatePolicyVersion,
        iam.DeletePolicyVersion,
        iam.GetPolicyVersion,
        iam.ListPolicyVersions,
        iam.ListEntitiesForPolicy,
        iam.AttachRolePolicy,
        iam.DetachRolePolicy,
        iam.TagPolicy,
        iam.UntagPolicy,
    ],
    "AWS::Batch::ComputeEnvironment": [
        batch.CreateComputeEnvironment,
        batch.UpdateComputeEnvironment,
        batch.DeleteComputeEnvironment,
        batch.DescribeComputeEnvironments,
        batch.TagResource,
        batch.UntagResource,
        iam.PassRole,
        *_SERVICE_LINKED,
    ],
    "AWS::Batch::JobQueue": [
        batch.CreateJobQueue,
        batch.UpdateJobQueue,
        batch.DeleteJobQueue,
        batch.DescribeJobQueues,
        batch.TagResource,
        batch.UntagResource,
    ],
    "AWS::Batch::JobDefinition": [
        batch.RegisterJobDefinition,
        batch.DeregisterJobDefinition,
        batch.DescribeJobDefinitions,
        batch.TagResource,
        iam.PassRole,
    ],
    "AWS::Logs::LogGroup": [
        logs.CreateLogGroup,
        logs.DeleteLogGroup,
        logs.DescribeLogGroups,
        logs.PutRetentionPolicy,
        logs.DeleteRetentionPolicy,
        logs.AssociateKmsKey,
        logs.DisassociateKmsKey,
        logs.TagResource,
        logs.UntagResource,
        logs.ListTagsForResource,
    ],
    "AWS::RDS::DBSubnetGroup": [
        rds.CreateDBSubnetGroup,
        rds.ModifyDBSubnetGroup,
        rds.DeleteDBSubnetGroup,
        rds.DescribeDBSubnetGroups,
        *_RDS_TAGS,
    ],
    "AWS::RDS::DBInstance": [
        rds.CreateDBInstance,
        rds.ModifyDBInstance,
        rds.DeleteDBInstance,
        rds.DescribeDBInstances,
        rds.RebootDBInstance,
        # DeletionPolicy Snapshot.
        rds.CreateDBSnapshot,
        rds.DescribeDBSnapshots,
        *_RDS_TAGS,
        # ManageMasterUserPassword: RDS creates the secret with the caller's rights.
        secrets.CreateSecret,
        secrets.DeleteSecret,
        secrets.DescribeSecret,
        secrets.RotateSecret,
        secrets.TagResource,
        kms.DescribeKey,
        kms.CreateGrant,
        *_SERVICE_LINKED,
    ],
    "AWS::SecretsManager::Secret": [
        secrets.CreateSecret,
        secrets.UpdateSecret,
        secrets.DeleteSecret,
        secrets.DescribeSecret,
        secrets.GetRandomPassword,
        secrets.TagResource,
        secrets.UntagResource,
    ],
    "AWS::KMS::Key": [
        kms.CreateKey,
        kms.DescribeKey,
        kms.EnableKey,
        kms.DisableKey,
        kms.GetKeyPolicy,
        kms.PutKeyPolicy,
        kms.EnableKeyRotation,
        kms.DisableKeyRotation,
        kms.GetKeyRotationStatus,
        kms.UpdateKeyDescription,
        kms.ScheduleKeyDeletion,
        kms.TagResource,
        kms.UntagResource,
        kms.ListResourceTags,
        # Resources encrypted with the stack's key (RDS, DynamoDB, notebook volumes) get a grant
        # on it, and a data key, with the creator's rights.
        kms.CreateGrant,
        kms.GenerateDataKey,
        kms.Decrypt,
    ],
    "AWS::KMS::Alias": [kms.CreateAlias, kms.UpdateAlias, kms.DeleteAlias, kms.ListAliases],
    "AWS::ECR::PullThroughCacheRule": [
        ecr.CreatePullThroughCacheRule,
        ecr.UpdatePullThroughCacheRule,
        ecr.DeletePullThroughCacheRule,
        ecr.DescribePullThroughCacheRules,
        ecr.ValidatePullThroughCacheRule,
        *_SERVICE_LINKED,
    ],
    "AWS::ECR::Repository": [
        ecr.CreateRepository,
        ecr.DeleteRepository,
        ecr.DescribeRepositories,
        ecr.PutLifecyclePolicy,
        ecr.GetLifecyclePolicy,
        ecr.DeleteLifecyclePolicy,
        ecr.SetRepositoryPolicy,
        ecr.GetRepositoryPolicy,
        ecr.DeleteRepositoryPolicy,
        ecr.PutImageScanningConfiguration,
        ecr.PutImageTagMutability,
        ecr.TagResource,
        ecr.UntagResource,
        ecr.ListTagsForResource,
    ],
    "AWS::ECR::RepositoryCreationTemplate": [
        ecr.CreateRepositoryCreationTemplate,
        ecr.UpdateRepositoryCreationTemplate,
        ecr.DeleteRepositoryCreationTemplate,
        ecr.DescribeRepositoryCreationTemplates,
    ],
    "AWS::ECS::Cluster": [
        ecs.CreateCluster,
        ecs.UpdateCluster,
        ecs.DeleteCluster,
        ecs.DescribeClusters,
        ecs.PutClusterCapacityProviders,
        ecs.TagResource,
        ecs.UntagResource,
        *_SERVICE_LINKED,
    ],
    "AWS::ECS::TaskDefinition": [
        ecs.RegisterTaskDefinition,
        ecs.DeregisterTaskDefinition,
        ecs.DescribeTaskDefinition,
        ecs.TagResource,
        ecs.UntagResource,
        iam.PassRole,
    ],
    "AWS::ECS::Service": [
        ecs.CreateService,
        ecs.UpdateService,
        ecs.DeleteService,
        ecs.DescribeServices,
        ecs.TagResource,
        ecs.UntagResource,
        elb.DescribeTargetGroups,
    ],
    "AWS::ElasticLoadBalancingV2::LoadBalancer": [
        elb.CreateLoadBalancer,
        elb.DeleteLoadBalancer,
        elb.DescribeLoadBalancers,
        elb.DescribeLoadBalancerAttributes,
        elb.ModifyLoadBalancerAttributes,
        elb.SetSubnets,
        elb.SetSecurityGroups,
        *_ELB_TAGS,
        *_SERVICE_LINKED,
    ],
    "AWS::ElasticLoadBalancingV2::TargetGroup": [
        elb.CreateTargetGroup,
        elb.DeleteTargetGroup,
        elb.DescribeTargetGroups,
        elb.ModifyTargetGroup,
        elb.DescribeTargetGroupAttributes,
        elb.ModifyTargetGroupAttributes,
        *_ELB_TAGS,
    ],
    "AWS::ElasticLoadBalancingV2::Listener": [
        elb.CreateListener,
        elb.DeleteListener,
        elb.DescribeListeners,
        elb.ModifyListener,
        *_ELB_TAGS,
    ],
    # A VPC link is a VPC endpoint service in front of the load balancer.
    "AWS::ApiGateway::VpcLink": [
        *_APIGW,
        ec2.CreateVpcEndpointServiceConfiguration,
        ec2.DeleteVpcEndpointServiceConfigurations,
        ec2.DescribeVpcEndpointServiceConfigurations,
        ec2.ModifyVpcEndpointServicePermissions,
        elb.DescribeLoadBalancers,
    ],
    "AWS::ApiGateway::RestApi": _APIGW,
    "AWS::ApiGateway::Resource": _APIGW,
    "AWS::ApiGateway::Method": _APIGW,
    "AWS::ApiGateway::Deployment": _APIGW,
    "AWS::ApiGateway::Stage": _APIGW,
    "AWS::ApiGateway::ApiKey": _APIGW,
    "AWS::ApiGateway::UsagePlan": _APIGW,
    "AWS::ApiGateway::UsagePlanKey": _APIGW,
    "AWS::DynamoDB::Table": [
        dynamodb.CreateTable,
        dynamodb.UpdateTable,
        dynamodb.DeleteTable,
        dynamodb.DescribeTable,
        dynamodb.DescribeTimeToLive,
        dynamodb.UpdateTimeToLive,
        dynamodb.DescribeContinuousBackups,
        dynamodb.UpdateContinuousBackups,
        dynamodb.TagResource,
        dynamodb.UntagResource,
        dynamodb.ListTagsOfResource,
    ],
    "AWS::Events::Rule": [
        events.PutRule,
        events.DeleteRule,
        events.DescribeRule,
        events.PutTargets,
        events.RemoveTargets,
        events.TagResource,
        events.UntagResource,
        iam.PassRole,
    ],
    "AWS::SageMaker::NotebookInstanceLifecycleConfig": [
        sagemaker.CreateNotebookInstanceLifecycleConfig,
        sagemaker.UpdateNotebookInstanceLifecycleConfig,
        sagemaker.DeleteNotebookInstanceLifecycleConfig,
        sagemaker.DescribeNotebookInstanceLifecycleConfig,
    ],
    "AWS::SageMaker::NotebookInstance": [
        sagemaker.CreateNotebookInstance,
        sagemaker.UpdateNotebookInstance,
        sagemaker.StopNotebookInstance,
        sagemaker.DeleteNotebookInstance,
        sagemaker.DescribeNotebookInstance,
        sagemaker.AddTags,
        sagemaker.DeleteTags,
        sagemaker.ListTags,
        iam.PassRole,
    ],
}

# What Service Catalog itself does with the launch role: run the stack and read its template.
_STACK_ACTIONS = [
    cfn.CreateStack,
    cfn.UpdateStack,
    cfn.DeleteStack,
    cfn.DescribeStacks,
    cfn.DescribeStackEvents,
    cfn.SetStackPolicy,
    cfn.TagResource,
    cfn.UntagResource,
]
_TEMPLATE_ACTIONS = [cfn.GetTemplateSummary, cfn.ValidateTemplate]


def resource_types(template: dict) -> list[str]:
    return sorted({resource["Type"] for resource in template["Resources"].values()})


def launch_actions(template: dict) -> list:
    """The actions for the template's resource types, deduplicated and sorted."""
    unknown = [kind for kind in resource_types(template) if kind not in ACTIONS]
    if unknown:
        raise ValueError(
            f"no launch-role permissions for {', '.join(unknown)}: add a row to "
            "ACTIONS in templates_src/catalog.py"
        )
    found = {
        action.JSONrepr(): action for kind in resource_types(template) for action in ACTIONS[kind]
    }
    return [found[name] for name in sorted(found)]


def _launched(service: str, kinds: list[str]) -> list[Sub]:
    return [partition_arn(service, f"{kind}/{LAUNCHED}", region=False) for kind in kinds]


def launch_role_template(template: dict) -> Template:
    actions = launch_actions(template)
    # IAM rights reach only the roles, profiles and policies of stacks Service Catalog launched;
    # everything else has no useful resource-level scope before the resource exists.
    scoped = [a for a in actions if a.prefix == "iam" and a != iam.CreateServiceLinkedRole]
    service_linked = [a for a in actions if a == iam.CreateServiceLinkedRole]
    # CloudFormation names a launched stack's bucket after the stack, in lower case.
    buckets = [a for a in actions if a.prefix == "s3"]
    anywhere = [a for a in actions if a.prefix not in ("iam", "s3")]
    statements = [
        Statement(
            Effect=Allow,
            Action=_STACK_ACTIONS,
            Resource=[partition_arn("cloudformation", f"stack/{LAUNCHED}")],
        ),
        Statement(Effect=Allow, Action=_TEMPLATE_ACTIONS, Resource=["*"]),
        # Service Catalog copies each version's template to its own bucket and tags the copy.
        Statement(
            Effect=Allow,
            Action=[s3.GetObject],
            Resource=["*"],
            Condition=Condition(
                StringEquals("s3:ExistingObjectTag/servicecatalog:provisioning", "true")
            ),
        ),
        Statement(Effect=Allow, Action=anywhere, Resource=["*"]),
    ]
    if buckets:
        statements.append(
            Statement(
                Effect=Allow,
                Action=buckets,
                Resource=[Sub(f"arn:${{AWS::Partition}}:s3:::{LAUNCHED.lower()}")],
            )
        )
    if scoped:
        statements.append(
            Statement(
                Effect=Allow,
                Action=scoped,
                Resource=_launched("iam", ["role", "instance-profile", "policy"]),
            )
        )
    if service_linked:
        statements.append(
            Statement(
                Effect=Allow,
                Action=service_linked,
                Resource=[partition_arn("iam", "role/aws-service-role/*", region=False)],
            )
        )
    t = Template(
        Description="Launch role for the Metaflow Service Catalog product: what CloudFormation "
        "needs to create, update and delete the stack's resources"
    )
    name = t.add_parameter(
        Parameter(
            "RoleName",
            Type="String",
            Default=LAUNCH_ROLE_NAME,
            AllowedPattern=r"^[\w+=,.@-]{1,64}$",
            Description="Name of the launch role; the product's launch constraint refers to it "
            "by this name.",
        )
    )
    role = t.add_resource(
        skip_checks(
            iam_resources.Role(
                "LaunchRole",
                RoleName=Ref(name),
                AssumeRolePolicyDocument=PolicyDocument(
                    Version="2012-10-17",
                    Statement=[
                        Statement(
                            Effect=Allow,
                            Action=[AssumeRole],
                            Principal=Principal("Service", ["servicecatalog.amazonaws.com"]),
                        )
                    ],
                ),
                Policies=[
                    iam_resources.Policy(
                        PolicyName="launch",
                        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements),
                    )
                ],
            ),
            CKV_AWS_111="CloudFormation creates resources that do not exist yet under generated "
            "names, so most create actions cannot name them; IAM is held to SC-* names",
            CKV_AWS_109="The stack's key and registry policies are set at creation, under ids "
            "CloudFormation generates; bucket policies reach only sc-* buckets",
        )
    )
    t.add_output(Output("LaunchRoleArn", Value=GetAtt(role, "Arn")))
    t.add_output(Output("LaunchRoleName", Value=Ref(role)))
    return t


def catalog_template() -> Template:
    """Portfolio, product, principal association and launch constraint, as one stack."""
    t = Template(Description="Service Catalog portfolio and product for Metaflow on AWS")

    def parameter(name: str, description: str, **kwargs) -> Ref:
        return Ref(
            t.add_parameter(Parameter(name, Type="String", Description=description, **kwargs))
        )

    portfolio_name = parameter("PortfolioName", "Portfolio display name.", Default="Metaflow")
    product_name = parameter("ProductName", "Product name.", Default="Metaflow")
    version = parameter("ProductVersion", "Version name of the template below.")
    template_url = parameter(
        "TemplateUrl",
        "S3 URL of generated/metaflow.json (or metaflow-sandbox.json).",
        AllowedPattern=r"^https://\S+$",
    )
    principal = parameter(
        "PrincipalArn",
        "IAM role, user or group ARN that may launch the product.",
        AllowedPattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user|group)/\S+$",
    )
    role_name = parameter(
        "LaunchRoleName",
        "Name of the role deployed from catalog-launch-role.json.",
        Default=LAUNCH_ROLE_NAME,
    )
    portfolio = t.add_resource(
        sc.Portfolio("Portfolio", DisplayName=portfolio_name, ProviderName="Platform team")
    )
    product = t.add_resource(
        sc.CloudFormationProduct(
            "Product",
            Name=product_name,
            Owner="Platform team",
            ProvisioningArtifactParameters=[
                sc.ProvisioningArtifactProperties(
                    Name=version, Info=sc.Info(LoadTemplateFromURL=template_url)
                )
            ],
        )
    )
    association = t.add_resource(
        sc.PortfolioProductAssociation(
            "ProductInPortfolio", PortfolioId=Ref(portfolio), ProductId=Ref(product)
        )
    )
    t.add_resource(
        sc.PortfolioPrincipalAssociation(
            "Launcher",
            PortfolioId=Ref(portfolio),
            PrincipalARN=principal,
            PrincipalType="IAM",
        )
    )
    t.add_resource(
        sc.LaunchRoleConstraint(
            "LaunchConstraint",
            # A constraint needs the product already in the portfolio.
            DependsOn=association.title,
            PortfolioId=Ref(portfolio),
            ProductId=Ref(product),
            LocalRoleName=role_name,
        )
    )
    t.add_output(Output("PortfolioId", Value=Ref(portfolio)))
    t.add_output(Output("ProductId", Value=Ref(product)))
    return t


def sandbox_template(template: dict, caps: dict[str, str] = SANDBOX_CAPS) -> dict:
    """`template` with the sandbox configuration's values as hard limits.

    Numbers become ceilings (MaxValue), lists a choice among the given items, everything else the
    only allowed value; each default is the sandbox value, so launching needs no parameters.
    """
    variant = copy.deepcopy(template)
    variant["Description"] = "Sandbox: " + template["Description"]
    for name, value in caps.items():
        parameter = variant["Parameters"][name]
        parameter["Default"] = value
        parameter.pop("AllowedPattern", None)
        if parameter["Type"] == "Number":
            parameter["MaxValue"] = int(value)
            parameter["MinValue"] = min(parameter.get("MinValue", 0), int(value))
            parameter["Description"] += f" Sandbox: at most {value}."
        elif parameter["Type"] == "CommaDelimitedList":
            parameter["AllowedValues"] = value.split(",")
            parameter["Description"] += " Sandbox: these only."
        else:
            parameter["AllowedValues"] = [value]
            parameter["Description"] += " Sandbox: fixed."
    return variant
