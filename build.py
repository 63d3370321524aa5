"""Write generated/: the templates users deploy and the named parameter files.

python build.py          # or: make templates
"""

import json
import sys
from pathlib import Path

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
    size = len(minified(body).encode())
    return [
        (
            "metaflow.json",
            size,
            len(body["Resources"]),
            len(body["Parameters"]),
            len(body["Outputs"]),
        )
    ]


def main() -> int:
    rows = build()
    print(f"{'template':<24}{'bytes':>8}{'resources':>11}{'parameters':>12}{'outputs':>9}")
    for name, size, resources, parameters, outputs in rows:
        print(f"{name:<24}{size:>8}{resources:>11}{parameters:>12}{outputs:>9}")
    over = [row for row in rows if row[1] > DIRECT_DEPLOY_LIMIT]
    for name, size, *_ in over:
        print(
            f"error: {name} is {size} bytes, over the {DIRECT_DEPLOY_LIMIT}-byte limit of "
            "aws cloudformation deploy without a bucket",
            file=sys.stderr,
        )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
