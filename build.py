"""Write generated/: the templates users deploy and the named parameter files.

python build.py          # or: make templates
"""

import json
import sys
from pathlib import Path

from templates_src.catalog import catalog_template, launch_role_template, sandbox_template
from templates_src.configurations import CONFIGURATIONS
from templates_src.stack import build_template

ROOT = Path(__file__).resolve().parent
GENERATED = ROOT / "generated"
# `aws cloudformation deploy` without an S3 bucket accepts templates up to this size.
DIRECT_DEPLOY_LIMIT = 51_200


def minified(template_dict: dict) -> str:
    return json.dumps(template_dict, separators=(",", ":"))


def parameter_file(values: dict[str, str]) -> str:
    rows = [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]
    return json.dumps(rows, indent=2) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def build() -> list[tuple[str, int, int, int, int]]:
    template = build_template()
    body = template.to_dict()
    write(GENERATED / "metaflow.json", minified(body))
    write(GENERATED / "metaflow.yaml", template.to_yaml())
    params_dir = GENERATED / "params"
    for stale in params_dir.glob("*.json"):
        if stale.stem not in CONFIGURATIONS:
            stale.unlink()
    for name, values in CONFIGURATIONS.items():
        write(params_dir / f"{name}.json", parameter_file(values))
    # Service Catalog's templates: launch role, catalog stack, and the capped sandbox variant.
    plain = json.loads(minified(body))
    launch_role, catalog = launch_role_template(plain), catalog_template()
    write(GENERATED / "catalog-launch-role.yaml", launch_role.to_yaml())
    write(GENERATED / "catalog.yaml", catalog.to_yaml())
    bodies = {
        "metaflow.json": plain,
        "metaflow-sandbox.json": sandbox_template(plain),
        "catalog-launch-role.json": launch_role.to_dict(),
        "catalog.json": catalog.to_dict(),
    }
    for name, extra in list(bodies.items())[1:]:
        write(GENERATED / name, minified(extra))
    return [
        (
            name,
            len(minified(each).encode()),
            len(each["Resources"]),
            len(each.get("Parameters", {})),
            len(each.get("Outputs", {})),
        )
        for name, each in bodies.items()
    ]


def main() -> int:
    rows = build()
    print(f"{'template':<24}{'bytes':>8}{'resources':>11}{'parameters':>12}{'outputs':>9}")
    for name, size, resources, parameters, outputs in rows:
        print(f"{name:<24}{size:>8}{resources:>11}{parameters:>12}{outputs:>9}")
    # Only the main template is deployed without a bucket; Service Catalog reads the rest from S3.
    over = [row for row in rows[:1] if row[1] > DIRECT_DEPLOY_LIMIT]
    for name, size, *_ in over:
        print(
            f"error: {name} is {size} bytes, over the {DIRECT_DEPLOY_LIMIT}-byte limit of "
            "aws cloudformation deploy without a bucket",
            file=sys.stderr,
        )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
