"""Notebooks: an optional SageMaker notebook whose Metaflow is already configured for this stack."""

import json
from dataclasses import dataclass

from troposphere import Base64, GetAtt, Ref, Sub, sagemaker

from .access import Access
from .base import Stack, skip_checks, when
from .encryption import KEY_BY_PARAMETER, USE_KEY
from .iam import Roles
from .network import Network

NOTEBOOK = "EnableNotebook"
CONFIG_DIR = "/home/ec2-user/.metaflowconfig"
COMPACT = (",", ":")


@dataclass
class Notebooks:
    instance: sagemaker.NotebookInstance

    @property
    def url(self):
        return Sub(
            f"https://${{{self.instance.title}.NotebookInstanceName}}.notebook."
            "${AWS::Region}.sagemaker.aws/tree"
        )


def _sub_text(value) -> str | None:
    """`value` as Fn::Sub text, where it has one: plain Subs, Refs and GetAtts."""
    data = value.to_dict()
    if isinstance(data.get("Fn::Sub"), str):
        return data["Fn::Sub"]
    if "Ref" in data:
        return f"${{{data['Ref']}}}"
    if "Fn::GetAtt" in data:
        return "${" + ".".join(data["Fn::GetAtt"]) + "}"
    return None


def _config_script(config: dict) -> Sub:
    """A start-up script that writes `config` (values may be template expressions) as JSON.

    Values that are Subs, Refs or GetAtts go into the script's own Sub text; the rest become its
    variables. That keeps the script small: the template must fit `aws cloudformation deploy`.
    """
    body, variables = {}, {}
    for key in sorted(config):
        text = _sub_text(config[key])
        if text is None:
            name = f"V{len(variables)}"
            variables[name] = config[key]
            text = f"${{{name}}}"
        body[key] = text
    script = (
        f"#!/bin/bash\nset -eu\nmkdir -p {CONFIG_DIR}\n"
        f"cat > {CONFIG_DIR}/config.json <<'EOF'\n{json.dumps(body, separators=COMPACT)}\nEOF\n"
        f"chown -R ec2-user:ec2-user {CONFIG_DIR}\n"
    )
    return Sub(script, **variables)


def add_notebooks(
    stack: Stack, roles: Roles, network: Network, access: Access, client_config: dict
) -> Notebooks:
    t = stack.template
    stack.switch(
        "Notebooks",
        NOTEBOOK,
        "Create a SageMaker notebook",
        False,
        "A notebook with Metaflow set up for this stack. Billed while running (ml.t3.medium "
        "about $0.05/h).",
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
                SecurityGroupIds=[Ref(access.compute.security_group)],
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
