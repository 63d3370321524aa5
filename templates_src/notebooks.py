"""Notebooks: an optional SageMaker notebook whose Metaflow is already configured for this stack."""

import json
from dataclasses import dataclass

from troposphere import Base64, GetAtt, Sub, ec2, sagemaker

from .access import Access
from .base import Stack, skip_checks, when
from .encryption import KEY_BY_PARAMETER, USE_KEY
from .iam import Roles
from .network import Network

NOTEBOOK = "EnableNotebook"
CONFIG_DIR = "/home/ec2-user/.metaflowconfig"


@dataclass
class Notebooks:
    instance: sagemaker.NotebookInstance

    @property
    def url(self):
        return Sub(
            f"https://${{{self.instance.title}.NotebookInstanceName}}.notebook."
            "${AWS::Region}.sagemaker.aws/tree"
        )


def _config_script(config: dict) -> Sub:
    """A start-up script that writes `config` (values may be template expressions) as JSON."""
    names = {key: f"V{index}" for index, key in enumerate(sorted(config))}
    body = json.dumps({key: f"${{{name}}}" for key, name in names.items()}, indent=1)
    script = (
        f"#!/bin/bash\nset -eu\nmkdir -p {CONFIG_DIR}\n"
        f"cat > {CONFIG_DIR}/config.json <<'EOF'\n{body}\nEOF\n"
        f"chown -R ec2-user:ec2-user {CONFIG_DIR}\n"
    )
    return Sub(script, **{name: config[key] for key, name in names.items()})


def add_notebooks(
    stack: Stack, roles: Roles, network: Network, access: Access, client_config: dict
) -> Notebooks:
    t = stack.template
    stack.switch(
        "Notebooks",
        NOTEBOOK,
        "Create a SageMaker notebook",
        False,
        "A small notebook instance with Metaflow configured for this stack. Billed while it "
        "runs (about $0.05 an hour for ml.t3.medium); stop it when idle.",
    )
    instance_type = stack.parameter(
        "Notebooks",
        "NotebookInstanceType",
        "Notebook instance type",
        Type="String",
        Default="ml.t3.medium",
        AllowedPattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        Description="SageMaker notebook instance type.",
    )
    role = roles.new(
        "NotebookRole",
        "sagemaker.amazonaws.com",
        condition=NOTEBOOK,
        managed=[access.user_policy_arn],
    )
    security_group = t.add_resource(
        ec2.SecurityGroup(
            "NotebookSecurityGroup",
            Condition=NOTEBOOK,
            GroupDescription="Metaflow notebook: no inbound traffic",
            VpcId=network.vpc_id,
            SecurityGroupEgress=network.egress,
        )
    )
    lifecycle = t.add_resource(
        sagemaker.NotebookInstanceLifecycleConfig(
            "NotebookLifecycle",
            Condition=NOTEBOOK,
            OnStart=[
                sagemaker.NotebookInstanceLifecycleHook(
                    Content=Base64(_config_script(client_config))
                )
            ],
        )
    )
    instance = t.add_resource(
        skip_checks(
            sagemaker.NotebookInstance(
                "Notebook",
                Condition=NOTEBOOK,
                InstanceType=instance_type,
                RoleArn=role.arn,
                RootAccess="Disabled",
                SubnetId=network.first_subnet,
                SecurityGroupIds=[GetAtt(security_group, "GroupId")],
                DirectInternetAccess=network.notebook_internet,
                LifecycleConfigName=GetAtt(lifecycle, "NotebookInstanceLifecycleConfigName"),
                KmsKeyId=when(USE_KEY, access.storage.encryption.key_arn),
                InstanceMetadataServiceConfiguration=sagemaker.InstanceMetadataServiceConfiguration(
                    MinimumInstanceMetadataServiceVersion="2"
                ),
            ),
            CKV_AWS_187=KEY_BY_PARAMETER,
        )
    )
    return Notebooks(instance)
