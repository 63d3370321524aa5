"""Composition: the one place where the modules meet and the stack's outputs are attached."""

from troposphere import If, Output, Template

from .access import add_access
from .base import Stack
from .compute import add_compute
from .contract import OUTPUTS, TEMPLATE_VERSION
from .encryption import add_encryption
from .endpoints import add_endpoints
from .iam import Roles
from .metadata import add_metadata_service
from .network import add_network
from .notebooks import add_notebooks
from .orchestration import add_orchestration
from .storage import add_storage

DESCRIPTION = (
    f"Metaflow on AWS: datastore, Batch, metadata service, Step Functions (v{TEMPLATE_VERSION})"
)


def resolve(handles: dict, source: str):
    """The template value behind a contract row's `module.attribute` source."""
    if source == "version":
        return TEMPLATE_VERSION
    module, attribute = source.split(".")
    return getattr(handles[module], attribute)


def client_config(handles: dict, inside_vpc: bool = False) -> dict:
    """Metaflow config keys and their template values, for a client the stack configures itself.

    Inside the VPC the client reaches the metadata service through the load balancer, with no key.
    A conditional output's key is empty where its condition does not hold.
    """
    config = {
        output.config_key: If(output.condition, resolve(handles, output.source), "")
        if output.condition
        else resolve(handles, output.source)
        for output in OUTPUTS
        if output.config_key and not output.api_key_id
    }
    if inside_vpc:
        config["METAFLOW_SERVICE_URL"] = config["METAFLOW_SERVICE_INTERNAL_URL"]
    return config


def _output_description(output) -> str:
    if output.api_key_id:
        return f"{output.description} ({output.config_key})"
    return output.config_key or output.description


def build_template() -> Template:
    stack = Stack(Template(Description=DESCRIPTION))
    roles = Roles(stack)
    network = add_network(stack)
    encryption = add_encryption(stack)
    storage = add_storage(stack, encryption)
    compute = add_compute(stack, roles, network, storage)
    metadata = add_metadata_service(stack, roles, network, encryption)
    orchestration = add_orchestration(stack, roles, storage, compute, encryption)
    access = add_access(stack, roles, storage, compute, orchestration, metadata)
    handles = {
        "network": network,
        "storage": storage,
        "compute": compute,
        "metadata": metadata,
        "orchestration": orchestration,
    }
    notebooks = add_notebooks(
        stack, roles, network, access, client_config(handles, inside_vpc=True)
    )
    handles["notebooks"] = notebooks
    add_endpoints(stack, network)

    for output in OUTPUTS:
        stack.template.add_output(
            Output(
                output.name,
                # The config key alone says what a config output is for, in fewer bytes.
                Description=_output_description(output),
                Value=resolve(handles, output.source),
                **({"Condition": output.condition} if output.condition else {}),
            )
        )
    roles.finish()
    stack.finish()
    return stack.template
