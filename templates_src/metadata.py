"""Metadata service: Metaflow's service on ECS Fargate, its PostgreSQL database, an internal network
load balancer, and API Gateway in front of it with an API key.

The database password is generated and kept by RDS in Secrets Manager (ManageMasterUserPassword);
ECS hands it to the container as a secret, so it never appears in the template or task definition.
Schema migrations run to completion in the service's container before the server starts.
"""

from dataclasses import dataclass

from awacs import kms as kms_actions
from awacs import logs as log_actions
from awacs import secretsmanager
from awacs.aws import Allow, Condition, IpAddress, Principal, Statement
from awacs.execute_api import Invoke as apigw_invoke
from troposphere import GetAtt, Ref, Split, Sub, apigateway, ec2, ecs, logs, rds
from troposphere import elasticloadbalancingv2 as elb

from .base import RETAIN, SNAPSHOT, Stack, skip_checks, when
from .encryption import KEY_BY_PARAMETER, USE_KEY, Encryption
from .iam import Roles
from .network import Network

SERVICE_PORT = 8080
DATABASE_PORT = 5432
API_KEY = "ApiKeyRequired"
ACCESS_LOGS = "ApiAccessLogs"
ALLOW_LIST = "HasApiAllowList"
# Common Log Format plus the caller's API key id.
ACCESS_LOG_FORMAT = (
    "$context.identity.sourceIp $context.identity.apiKeyId [$context.requestTime] "
    '"$context.httpMethod $context.path" $context.status $context.requestId'
)


@dataclass
class MetadataService:
    api: apigateway.RestApi
    api_key: apigateway.ApiKey
    load_balancer: elb.LoadBalancer
    stage: str

    @property
    def service_url(self):
        return Sub(
            f"https://${{{self.api.title}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"
            f"{self.stage}/"
        )

    @property
    def internal_url(self):
        return Sub(f"http://${{{self.load_balancer.title}.DNSName}}/")

    @property
    def api_key_id(self):
        return Ref(self.api_key)


def add_metadata_service(
    stack: Stack, roles: Roles, network: Network, encryption: Encryption
) -> MetadataService:
    t = stack.template
    image = stack.parameter(
        "Metadata service",
        "MetadataServiceImage",
        "Service image",
        Type="String",
        Default="netflixoss/metaflow_metadata_service:v2.5.0",
        Description="Metaflow metadata service image, pinned. Isolated mode pulls it through "
        "ECR (README).",
    )
    db_class = stack.parameter(
        "Metadata service",
        "DatabaseInstanceClass",
        "Database instance class",
        Type="String",
        Default="db.t4g.micro",
        AllowedPattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
        Description="RDS PostgreSQL class. The default, the cheapest current one, serves a team: "
        "metadata is small.",
    )
    stack.switch(
        "Metadata service",
        API_KEY,
        "Require an API key",
        True,
        "Callers of the public API endpoint must present the stack's API key.",
    )
    stack.switch(
        "Metadata service",
        "DatabaseMultiAz",
        "Database Multi-AZ",
        False,
        "A standby in a second zone; doubles the cost.",
    )
    stack.switch(
        "Metadata service",
        "DatabaseDeletionProtection",
        "Database deletion protection",
        True,
        "Refuse to delete the database until turned off.",
    )

    service_sg = t.add_resource(
        ec2.SecurityGroup(
            "MetadataServiceSecurityGroup",
            GroupDescription="Metaflow metadata service",
            VpcId=network.vpc_id,
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=SERVICE_PORT,
                    ToPort=SERVICE_PORT,
                    CidrIp=network.vpc_cidr,
                    Description="VPC",
                )
            ],
            SecurityGroupEgress=network.egress,
        )
    )
    db_sg = t.add_resource(
        ec2.SecurityGroup(
            "DatabaseSecurityGroup",
            GroupDescription="Metaflow metadata database",
            VpcId=network.vpc_id,
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=DATABASE_PORT,
                    ToPort=DATABASE_PORT,
                    SourceSecurityGroupId=Ref(service_sg),
                    Description="Metadata service",
                )
            ],
            # It answers; it never calls out.
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(IpProtocol="-1", CidrIp=network.vpc_cidr, Description="VPC")
            ],
        )
    )
    subnet_group = t.add_resource(
        rds.DBSubnetGroup(
            "DatabaseSubnetGroup",
            DBSubnetGroupDescription="Metaflow metadata database",
            SubnetIds=network.subnet_ids,
        )
    )
    database = skip_checks(
        rds.DBInstance(
            "Database",
            Engine="postgres",
            EngineVersion="17.6",
            DBInstanceClass=db_class,
            AllocatedStorage="20",
            StorageType="gp3",
            StorageEncrypted=True,
            DBName="metaflow",
            MasterUsername="metaflow",
            ManageMasterUserPassword=True,
            MasterUserSecret=rds.MasterUserSecret(KmsKeyId=when(USE_KEY, encryption.key_arn)),
            DBSubnetGroupName=Ref(subnet_group),
            VPCSecurityGroups=[Ref(db_sg)],
            PubliclyAccessible=False,
            BackupRetentionPeriod=7,
            AutoMinorVersionUpgrade=True,
            CopyTagsToSnapshot=True,
            MultiAZ=when("DatabaseMultiAz", True, False),
            DeletionProtection=when("DatabaseDeletionProtection", True, False),
            **SNAPSHOT,
        ),
        CKV_AWS_161="The service signs in with a password",
        CKV_AWS_157="Optional (DatabaseMultiAz): doubles the cost",
        CKV_AWS_118="Standard RDS metrics suffice",
    )
    t.add_resource(database)
    password_secret = GetAtt(database, "MasterUserSecret.SecretArn")
    password_field = Sub("${Database.MasterUserSecret.SecretArn}:password::")

    log_group = t.add_resource(
        skip_checks(
            logs.LogGroup(
                "MetadataServiceLogs",
                RetentionInDays=90,
                KmsKeyId=when(USE_KEY, encryption.key_arn),
                **RETAIN,
            ),
            CKV_AWS_158=KEY_BY_PARAMETER,
        )
    )
    execution_role = roles.new(
        "MetadataExecutionRole",
        "ecs-tasks.amazonaws.com",
    )
    execution_role.allow([secretsmanager.GetSecretValue], [password_secret])
    network.grant_cached_pulls(execution_role, login=True)
    encryption.grant_use(execution_role, kms_actions.Decrypt)
    execution_role.allow(
        [log_actions.CreateLogStream, log_actions.PutLogEvents],
        [GetAtt(log_group, "Arn")],
    )

    python = "/opt/latest/bin/python3"
    # Migrations first, then the server, in one container: a failed migration ends the task before
    # it serves, ECS starts a new one, and the load balancer never routes to a stale schema.
    start = f"{python} /root/run_goose.py && exec {python} -m services.metadata_service.server"
    task = t.add_resource(
        ecs.TaskDefinition(
            "MetadataTask",
            RequiresCompatibilities=["FARGATE"],
            NetworkMode="awsvpc",
            Cpu="256",
            Memory="512",
            ExecutionRoleArn=execution_role.arn,
            ContainerDefinitions=[
                ecs.ContainerDefinition(
                    Name="metadata",
                    Image=network.docker_hub_image(image),
                    EntryPoint=["/bin/sh", "-c"],
                    Command=[start],
                    PortMappings=[ecs.PortMapping(ContainerPort=SERVICE_PORT)],
                    Environment=[
                        ecs.Environment(
                            Name="MF_METADATA_DB_HOST", Value=GetAtt(database, "Endpoint.Address")
                        ),
                        ecs.Environment(Name="MF_METADATA_DB_PORT", Value=str(DATABASE_PORT)),
                        ecs.Environment(Name="MF_METADATA_DB_NAME", Value="metaflow"),
                        ecs.Environment(Name="MF_METADATA_DB_USER", Value="metaflow"),
                    ],
                    Secrets=[ecs.Secret(Name="MF_METADATA_DB_PSWD", ValueFrom=password_field)],
                    LogConfiguration=ecs.LogConfiguration(
                        LogDriver="awslogs",
                        Options={
                            "awslogs-group": Ref(log_group),
                            "awslogs-region": Ref("AWS::Region"),
                            "awslogs-stream-prefix": "metadata",
                        },
                    ),
                )
            ],
        )
    )

    load_balancer = t.add_resource(
        skip_checks(
            elb.LoadBalancer(
                "MetadataLoadBalancer",
                Type="network",
                Scheme="internal",
                Subnets=network.subnet_ids,
            ),
            CKV_AWS_91="API Gateway logs the requests",
        )
    )
    target_group = t.add_resource(
        elb.TargetGroup(
            "MetadataTargetGroup",
            Port=SERVICE_PORT,
            Protocol="TCP",
            TargetType="ip",
            VpcId=network.vpc_id,
            HealthCheckProtocol="HTTP",
            HealthCheckPath="/ping",
        )
    )
    listener = t.add_resource(
        elb.Listener(
            "MetadataListener",
            LoadBalancerArn=Ref(load_balancer),
            Port=80,
            Protocol="TCP",
            DefaultActions=[elb.Action(Type="forward", TargetGroupArn=Ref(target_group))],
        )
    )
    cluster = t.add_resource(
        skip_checks(
            ecs.Cluster("Cluster"),
            CKV_AWS_65="Its metrics cost ~$5/month for one task; ECS's own are free",
        )
    )
    t.add_resource(
        ecs.Service(
            "MetadataService",
            DependsOn=listener.title,
            Cluster=Ref(cluster),
            TaskDefinition=Ref(task),
            LaunchType="FARGATE",
            DesiredCount=1,
            NetworkConfiguration=ecs.NetworkConfiguration(
                AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                    Subnets=network.subnet_ids,
                    SecurityGroups=[Ref(service_sg)],
                    AssignPublicIp=network.assign_public_ip,
                )
            ),
            LoadBalancers=[
                ecs.LoadBalancer(
                    ContainerName="metadata",
                    ContainerPort=SERVICE_PORT,
                    TargetGroupArn=Ref(target_group),
                )
            ],
        )
    )

    # API access logs land beside the service's own, in streams API Gateway names.
    api, api_key, stage = _add_api(stack, load_balancer, log_group)
    return MetadataService(api, api_key, load_balancer, stage)


def _add_api(stack: Stack, load_balancer: elb.LoadBalancer, log_group: logs.LogGroup):
    t = stack.template
    stage = "api"
    allowed = stack.parameter(
        "Metadata service",
        "ApiAllowedCidrs",
        "API source address allow-list",
        Type="String",
        Default="",
        AllowedPattern=r"^(\d{1,3}(\.\d{1,3}){3}/\d{1,2}(,\d{1,3}(\.\d{1,3}){3}/\d{1,2})*)?$",
        Description="Comma-separated CIDRs that may call the API. Empty: any.",
    )
    stack.condition(ALLOW_LIST, {"Fn::Not": [{"Fn::Equals": [allowed, ""]}]})
    stack.switch(
        "Metadata service",
        ACCESS_LOGS,
        "API access logs",
        False,
        "Needs the account's API Gateway CloudWatch role (see README).",
    )
    link = t.add_resource(
        apigateway.VpcLink(
            "MetadataVpcLink",
            Name=Sub("${AWS::StackName}-metadata"),
            TargetArns=[Ref(load_balancer)],
        )
    )
    api = t.add_resource(
        apigateway.RestApi(
            "MetadataApi",
            Name=Sub("${AWS::StackName}-metadata"),
            EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
            SecurityPolicy="TLS_1_2",
            Policy=when(
                ALLOW_LIST,
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        Statement(
                            Effect=Allow,
                            Principal=Principal("*"),
                            Action=[apigw_invoke],
                            Resource=["execute-api:/*"],
                            Condition=Condition(IpAddress("aws:SourceIp", Split(",", allowed))),
                        )
                    ],
                },
            ),
        )
    )
    proxy = t.add_resource(
        apigateway.Resource(
            "MetadataApiProxy",
            RestApiId=Ref(api),
            ParentId=GetAtt(api, "RootResourceId"),
            PathPart="{proxy+}",
        )
    )
    method = t.add_resource(
        apigateway.Method(
            "MetadataApiMethod",
            RestApiId=Ref(api),
            ResourceId=Ref(proxy),
            HttpMethod="ANY",
            AuthorizationType="NONE",
            ApiKeyRequired=when(API_KEY, True, False),
            RequestParameters={"method.request.path.proxy": True},
            Integration=apigateway.Integration(
                Type="HTTP_PROXY",
                IntegrationHttpMethod="ANY",
                ConnectionType="VPC_LINK",
                ConnectionId=Ref(link),
                Uri=Sub(f"http://${{{load_balancer.title}.DNSName}}/{{proxy}}"),
                RequestParameters={"integration.request.path.proxy": "method.request.path.proxy"},
            ),
        )
    )
    deployment = t.add_resource(
        apigateway.Deployment(
            "MetadataApiDeployment",
            DependsOn=method.title,
            RestApiId=Ref(api),
            StageName=stage,
            StageDescription=apigateway.StageDescription(
                # Throttles every caller, with or without the API key's usage plan.
                ThrottlingRateLimit=200,
                ThrottlingBurstLimit=400,
                AccessLogSetting=when(
                    ACCESS_LOGS,
                    apigateway.AccessLogSetting(
                        DestinationArn=GetAtt(log_group, "Arn"), Format=ACCESS_LOG_FORMAT
                    ),
                ),
            ),
        )
    )
    api_key = t.add_resource(
        apigateway.ApiKey(
            "MetadataApiKey",
            Condition=API_KEY,
            Enabled=True,
            DependsOn=deployment.title,
            StageKeys=[apigateway.StageKey(RestApiId=Ref(api), StageName=stage)],
        )
    )
    plan = t.add_resource(
        apigateway.UsagePlan(
            "MetadataUsagePlan",
            Condition=API_KEY,
            DependsOn=deployment.title,
            ApiStages=[apigateway.ApiStage(ApiId=Ref(api), Stage=stage)],
            Throttle=apigateway.ThrottleSettings(RateLimit=200, BurstLimit=400),
        )
    )
    t.add_resource(
        apigateway.UsagePlanKey(
            "MetadataUsagePlanKey",
            Condition=API_KEY,
            KeyId=Ref(api_key),
            KeyType="API_KEY",
            UsagePlanId=Ref(plan),
        )
    )
    return api, api_key, stage
