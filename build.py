"""Write generated/: the templates users deploy and the named parameter files, and the README's
parameter and output tables, so that they always say what the template takes and gives.

python build.py          # or: make templates
"""

import json
import sys
from pathlib import Path

from templates_src.catalog import catalog_template, launch_role_template, sandbox_template
from templates_src.configurations import CONFIGURATIONS
from templates_src.contract import OUTPUTS
from templates_src.stack import build_template

ROOT = Path(__file__).resolve().parent
GENERATED = ROOT / "generated"
README = ROOT / "README.md"
# `aws cloudformation deploy` without an S3 bucket accepts templates up to this size.
DIRECT_DEPLOY_LIMIT = 51_200
TABLE_START = "<!-- parameters: written by build.py -->"
TABLE_END = "<!-- end of parameters -->"
OUTPUTS_START = "<!-- outputs: written by build.py -->"
OUTPUTS_END = "<!-- end of outputs -->"


def minified(template_dict: dict) -> str:
    return json.dumps(template_dict, separators=(",", ":"))


def parameter_file(values: dict[str, str]) -> str:
    rows = [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]
    return json.dumps(rows, indent=2) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _allowed(parameter: dict) -> str:
    if "AllowedValues" in parameter:
        return ", ".join(parameter["AllowedValues"])
    if parameter["Type"] == "Number":
        low, high = parameter.get("MinValue"), parameter.get("MaxValue")
        return f"{low} to {high}" if high is not None else f"{low} or more"
    return "see pattern" if "AllowedPattern" in parameter else "any"


def parameters_table(template: dict) -> str:
    """Every parameter in console order: group, name, default, allowed values, description."""
    rows = [
        "| group | parameter | default | allowed | what it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for group in template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]:
        for name in group["Parameters"]:
            parameter = template["Parameters"][name]
            default = parameter.get("Default", "")
            shown = f"`{default}`" if default != "" else "(empty)"
            rows.append(
                f"| {group['Label']['default']} | `{name}` | {shown} | {_allowed(parameter)} "
                f"| {parameter['Description']} |"
            )
    return "\n".join(rows)


def outputs_table() -> str:
    """Every output of the contract: the Metaflow key it feeds, and when it exists."""
    rows = ["| output | Metaflow config key | what it is |", "| --- | --- | --- |"]
    for output in OUTPUTS:
        key = f"`{output.config_key}`" if output.config_key else ""
        when = f" (when `{output.condition}`)" if output.condition else ""
        rows.append(f"| `{output.name}` | {key} | {output.description}{when} |")
    return "\n".join(rows)


def _with_block(readme: str, start: str, end: str, content: str) -> str:
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


def with_generated_tables(readme: str, template: dict) -> str:
    readme = _with_block(readme, TABLE_START, TABLE_END, parameters_table(template))
    return _with_block(readme, OUTPUTS_START, OUTPUTS_END, outputs_table())


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
    readme = README.read_text()
    fresh = with_generated_tables(readme, json.loads((GENERATED / "metaflow.json").read_text()))
    if fresh != readme:
        README.write_text(fresh)
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
