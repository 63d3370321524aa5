"""Where moto's CloudFormation differs from AWS, in one place.

Each patch below names the gap it closes (numbers refer to ../shared/notes/emulator-gaps.md where
the gap is listed there) and teaches moto what AWS already does, so the template we deploy into the
emulator is byte for byte the one users deploy into AWS. Nothing here changes our template or hides
an error of ours: every patch is applied inside the emulator process only (see demo/emulator.py).
"""

import ipaddress
import json
from typing import Any

from moto.apigateway.models import apigateway_backends
from moto.batch.models import ComputeEnvironment, batch_backends
from moto.batch.utils import lowercase_first_key
from moto.cloudformation import parsing
from moto.cloudformation.models import ChangeSet, Event, OutputMap, cloudformation_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ecs.models import Service as EcsService
from moto.elbv2.models import FakeLoadBalancer, elbv2_backends
from moto.iam import policy_conditions
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.iam.models import iam_backends
from moto.rds.models import DBInstance, MasterUserSecret
from moto.s3.models import FakeBucket, s3_backends
from moto.sagemaker.models import FakeSagemakerNotebookInstance, sagemaker_backends
from moto.utilities.utils import get_partition


def _cidr_function() -> None:
    """moto has no Fn::Cidr; AWS carves `count` subnets of `32 - bits` prefix from the block."""
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            block, count, bits = (original(v, resources_map) for v in resource_json["Fn::Cidr"])
            network = ipaddress.ip_network(block)
            subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
            return [str(next(subnets)) for _ in range(int(count))]
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def _no_value_in_lists() -> None:
    """moto resolves `Fn::If` to `AWS::NoValue` inside a list as a None element; AWS leaves the
    element out (a job queue's optional Spot environment, a policy's optional resource)."""
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        cleaned = original(resource_json, resources_map)
        if isinstance(resource_json, list):
            return [item for item in cleaned if item is not None]
        return cleaned

    parsing.clean_json = clean_json


def _network_load_balancer() -> None:
    """Gap 3: moto's CloudFormation glue drops the load balancer's Type, so every one becomes an
    application load balancer and a TCP listener is refused."""

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        return elbv2_backends[account_id][region_name].create_load_balancer(
            resource_name,
            properties.get("SecurityGroups"),
            properties.get("Subnets"),
            scheme=properties.get("Scheme", "internet-facing"),
            loadbalancer_type=properties.get("Type", "application"),
        )

    FakeLoadBalancer.create_from_cloudformation_json = create


def _list_parameter_defaults() -> None:
    """Gap 4: a CommaDelimitedList parameter's Default is not split into a list (passed values
    are)."""
    original = parsing.ResourceMap.load_parameters

    def load_parameters(self) -> None:
        original(self)
        for name, slot in self._template.get("Parameters", {}).items():
            value = self.resolved_parameters.get(name)
            listed = slot.get("Type") == "CommaDelimitedList" or slot.get("Type", "").startswith(
                "List<"
            )
            if listed and isinstance(value, str):
                self.resolved_parameters[name] = value.split(",")
                self._parsed_resources[name] = self.resolved_parameters[name]

    parsing.ResourceMap.load_parameters = load_parameters


def _batch_service_linked_role() -> None:
    """moto's Batch requires a compute environment's ServiceRole; AWS makes it optional and then
    uses the account's service-linked role AWSServiceRoleForBatch, which moto does not create.
    Nested compute resources (LaunchTemplate, Ec2Configuration) get API casing too, as moto's own
    glue does, or the Batch API would describe them without them."""

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        service_role = properties.get("ServiceRole") or _service_linked_batch_role(account_id)
        return batch_backends[account_id][region_name].create_compute_environment(
            resource_name,
            properties["Type"],
            properties.get("State", "ENABLED"),
            lowercase_first_key(properties["ComputeResources"]),
            service_role,
        )

    ComputeEnvironment.create_from_cloudformation_json = create


def _service_linked_batch_role(account_id: str) -> str:
    iam = iam_backends[account_id]["global"]
    for role in iam.roles.values():
        if role.name.lower() == "awsserviceroleforbatch":
            return role.arn
    return iam.create_service_linked_role("batch.amazonaws.com", "", "").arn


def _rds_managed_password() -> None:
    """moto's CloudFormation glue ignores ManageMasterUserPassword and has no
    MasterUserSecret.SecretArn attribute; its RDS API supports both. moto's Fn::Sub also splits
    `${Database.MasterUserSecret.SecretArn}` at every dot, so the attribute arrives as
    "MasterUserSecret" there (the same splitting as gap 2)."""
    original_create = DBInstance.create_from_cloudformation_json.__func__
    original_attribute = DBInstance.get_cfn_attribute

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        database = original_create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        properties = cloudformation_json["Properties"]
        if properties.get("ManageMasterUserPassword") in (True, "true"):
            kms_key = properties.get("MasterUserSecret", {}).get("KmsKeyId")
            database.manage_master_user_password = True
            database.master_user_secret = MasterUserSecret(database, kms_key)
        return database

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in ("MasterUserSecret.SecretArn", "MasterUserSecret"):
            return self.master_user_secret.secret.arn
        return original_attribute(self, attribute_name)

    DBInstance.create_from_cloudformation_json = create
    DBInstance.get_cfn_attribute = get_cfn_attribute


class _ApiGatewayResource:
    """Gap 5: moto accepts these API Gateway types in a template but creates nothing, so their Ref
    is empty. moto's API Gateway API has them; these models create them through it. (moto finds
    models among CloudFormationModel's direct subclasses, hence the mixin.)"""

    def __init__(self, physical_id: str):
        self.physical_id = physical_id

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json.get("Properties", {})
        backend = apigateway_backends[account_id][region_name]
        return cls(cls.create(backend, resource_name, properties))


class _ApiKey(_ApiGatewayResource, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::ApiKey"

    @staticmethod
    def create(backend, name, properties) -> str:
        return backend.create_api_key(
            {"name": properties.get("Name", name), "enabled": properties.get("Enabled", True)}
        ).id


class _UsagePlan(_ApiGatewayResource, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::UsagePlan"

    @staticmethod
    def create(backend, name, properties) -> str:
        return backend.create_usage_plan(
            {
                "name": properties.get("UsagePlanName", name),
                "apiStages": [
                    {"apiId": s["ApiId"], "stage": s["Stage"]}
                    for s in properties.get("ApiStages", [])
                ],
                "throttle": {
                    "rateLimit": properties.get("Throttle", {}).get("RateLimit"),
                    "burstLimit": properties.get("Throttle", {}).get("BurstLimit"),
                },
            }
        ).id


class _UsagePlanKey(_ApiGatewayResource, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::UsagePlanKey"

    @staticmethod
    def create(backend, name, properties) -> str:
        return backend.create_usage_plan_key(
            properties["UsagePlanId"], {"keyId": properties["KeyId"], "keyType": "API_KEY"}
        ).id


class _VpcLink(_ApiGatewayResource, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::VpcLink"

    @staticmethod
    def create(backend, name, properties) -> str:
        return backend.create_vpc_link(
            properties.get("Name", name),
            properties.get("Description", ""),
            properties.get("TargetArns", []),
            [],
        ).id


def _bucket_settings() -> None:
    """moto's CloudFormation glue for AWS::S3::Bucket applies only encryption and tags: it drops
    VersioningConfiguration and the encryption rule's BucketKeyEnabled, which its S3 API keeps."""
    original = FakeBucket.create_from_cloudformation_json.__func__

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        bucket = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        properties = cloudformation_json.get("Properties", {})
        backend = s3_backends[account_id][get_partition(region_name)]
        status = properties.get("VersioningConfiguration", {}).get("Status")
        if status:
            backend.put_bucket_versioning(bucket.name, status)
        rules = properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        if rules and str(rules[0].get("BucketKeyEnabled")).lower() == "true":
            bucket.encryption["Rule"]["BucketKeyEnabled"] = "true"
        return bucket

    FakeBucket.create_from_cloudformation_json = create


class _BucketPolicy(CloudFormationModel):
    """moto accepts AWS::S3::BucketPolicy in a template and attaches nothing (gap 5's kind), so
    the stack's bucket would lack its TLS-only policy; moto's S3 API has put_bucket_policy."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        policy = json.dumps(properties["PolicyDocument"]).encode()
        s3_backends[account_id][get_partition(region_name)].put_bucket_policy(
            properties["Bucket"], policy
        )
        return cls(properties["Bucket"])


def _change_set_outputs() -> None:
    """moto applies a change set's resources but never recomputes the stack's outputs, so a stack
    made the way `aws cloudformation deploy` makes it (a change set) reports none."""
    original = ChangeSet.apply

    def apply(self) -> None:
        original(self)
        self.stack.output_map = OutputMap(
            self.stack.resource_map, self.template_dict, self.stack.stack_id
        )

    ChangeSet.apply = apply


def _tls_only_bucket_policy() -> None:
    """A bucket policy that denies requests without TLS (Deny when aws:SecureTransport is false)
    denied every request to the emulated bucket, for three reasons: moto evaluates bucket policies
    with no request context, ignores the Bool operator (treating the condition as met), and judges
    a statement whose condition is not met as a denial whatever its Effect, where AWS ignores the
    statement. Here requests carry aws:SecureTransport "true", as every request to AWS's HTTPS
    endpoints does (the emulator's plain HTTP on 127.0.0.1 stands in for them); Bool compares like
    AWS, case-insensitively; and a statement whose condition is not met does not apply."""

    def bool_equals(expected: list[str] | str, actual: str) -> bool:
        expected = expected if isinstance(expected, list) else [expected]
        return str(actual).lower() in [str(value).lower() for value in expected]

    policy_conditions.CONDITION_OPERATIONS["Bool"] = bool_equals
    original_statement = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, conditions=None):
        if self._statement.get("Condition") and not self._check_conditions(conditions):
            return PermissionResult.NEUTRAL
        return original_statement(self, action, resource, principal, conditions)

    def get_permission(self, action: str, resource: str) -> PermissionResult:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        return IAMPolicy(self.policy.decode()).is_action_permitted(
            action, resource, incoming_condition_values={"aws:SecureTransport": "true"}
        )

    IAMPolicyStatement.is_action_permitted = is_action_permitted
    FakeBucket.get_permission = get_permission


def _resource_events() -> None:
    """moto records only the stack's own events; AWS also records each resource's
    CREATE_IN_PROGRESS and CREATE_COMPLETE (or CREATE_FAILED with the reason), which is the
    progress `aws cloudformation deploy` users and the demo watch."""
    original = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id, resource_json, resources_map, **where):
        stack = cloudformation_backends[where["account_id"]][where["region_name"]].stacks.get(
            resources_map.stack_id
        )

        def record(status: str, physical_id: str = "", reason: str | None = None) -> None:
            if stack is not None:
                stack.events.append(
                    Event(
                        stack.stack_id,
                        stack.name,
                        logical_id,
                        physical_id,
                        resource_json["Type"],
                        status,
                        reason,
                        None,
                    )
                )

        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return original(logical_id, resource_json, resources_map, **where)
        record("CREATE_IN_PROGRESS")
        try:
            resource = original(logical_id, resource_json, resources_map, **where)
        except Exception as error:
            record("CREATE_FAILED", reason=str(error))
            raise
        physical_id = getattr(resource, "physical_resource_id", None) or logical_id
        record("CREATE_COMPLETE", str(physical_id))
        return resource

    parsing.parse_and_create_resource = parse_and_create_resource


def _subnet_route_table_association() -> None:
    """moto's CloudFormation glue for AWS::EC2::SubnetRouteTableAssociation records the pair aside
    but never associates the subnet with the route table, so describe_route_tables shows no
    association and the subnet seems to use the main table. Its EC2 API associates correctly."""

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        backend.associate_route_table(properties["RouteTableId"], subnet_id=properties["SubnetId"])
        return backend.create_subnet_association(
            route_table_id=properties["RouteTableId"], subnet_id=properties["SubnetId"]
        )

    SubnetRouteTableAssociation.create_from_cloudformation_json = create


def _ecs_service_network() -> None:
    """moto's CloudFormation glue for AWS::ECS::Service drops NetworkConfiguration, so a service
    reports no subnets, security groups or public-address setting. Its ECS API keeps them."""
    original = EcsService.create_from_cloudformation_json.__func__

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        service = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        network = cloudformation_json["Properties"].get("NetworkConfiguration")
        if network:
            service.network_configuration = service._validate_network(lowercase_first_key(network))
        return service

    EcsService.create_from_cloudformation_json = create


def _notebook_instance_settings() -> None:
    """moto's CloudFormation glue for AWS::SageMaker::NotebookInstance passes only the instance
    type and role, so the subnet, security groups, internet access, root access and lifecycle
    configuration a template sets are lost. Its SageMaker API accepts them all."""

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        return sagemaker_backends[account_id][region_name].create_notebook_instance(
            notebook_instance_name=resource_name,
            instance_type=properties["InstanceType"],
            role_arn=properties["RoleArn"],
            subnet_id=properties.get("SubnetId"),
            security_group_ids=properties.get("SecurityGroupIds"),
            lifecycle_config_name=properties.get("LifecycleConfigName"),
            direct_internet_access=properties.get("DirectInternetAccess", "Enabled"),
            root_access=properties.get("RootAccess"),
        )

    FakeSagemakerNotebookInstance.create_from_cloudformation_json = create


def apply() -> None:
    _change_set_outputs()
    _cidr_function()
    _no_value_in_lists()
    _network_load_balancer()
    _list_parameter_defaults()
    _batch_service_linked_role()
    _rds_managed_password()
    _bucket_settings()
    _tls_only_bucket_policy()
    _resource_events()
    _subnet_route_table_association()
    _ecs_service_network()
    _notebook_instance_settings()
    # The model map is cached at first use; the classes above must be in it.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
