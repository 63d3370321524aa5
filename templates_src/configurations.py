"""Named parameter sets, written to generated/params/<name>.json as CloudFormation parameter files.

Each lists only what differs from the template's defaults. Tests, docs, the demo and the report all
read the generated files.
"""

# Stand-ins for a VPC that already exists; the emulator tests create one and substitute its ids.
EXAMPLE_VPC = "vpc-0a1b2c3d4e5f60718"
EXAMPLE_SUBNETS = "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788"

CONFIGURATIONS: dict[str, dict[str, str]] = {
    "default": {},
    "fargate": {"ComputeType": "FARGATE"},
    "gpu-spot": {"EnableGpu": "true", "EnableSpot": "true"},
    "private": {"NetworkMode": "private"},
    "isolated": {"NetworkMode": "isolated"},
    "existing-vpc": {
        "ExistingVpcId": EXAMPLE_VPC,
        "ExistingSubnetIds": EXAMPLE_SUBNETS,
        "ExistingVpcCidr": "10.0.0.0/16",
    },
    # Also the caps of the Service Catalog sandbox product (templates_src/catalog.py), so it names
    # sizes even where they equal the defaults: there they become the only choice or the ceiling.
    "sandbox": {
        "NetworkMode": "isolated",
        "MaxVCPUs": "16",
        "MinVCPUs": "0",
        "EnableGpu": "false",
        "DatabaseInstanceClass": "db.t4g.micro",
        "EnableNotebook": "true",
        "NotebookInstanceType": "ml.t3.medium",
    },
}
