"""cfn-lint and checkov over every generated template and every parameter file.

    python -m tools.lint        # or: make lint

cfn-lint reads parameter files itself. checkov has no parameter input and does not evaluate
conditions (it sees both branches of every Fn::If, and skips policy statements wrapped in one), so
for each parameter file this tool first resolves the template the way CloudFormation would for those
values: conditions evaluated, Fn::If replaced by its chosen branch, AWS::NoValue dropped, resources
whose condition is false removed, parameter defaults set to the file's values. checkov then checks
that concrete template. The "none" row runs checkov on the template exactly as generated.

Prints template x parameters -> cfn-lint findings, checkov passed/failed/skipped, then every skip
with its reason. Exits non-zero on any finding or failed check.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.cfn_eval import deployed, read_parameter_file

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
CFN_LINT = ROOT / ".venv" / "bin" / "cfn-lint"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def templates() -> list[Path]:
    return sorted(GENERATED.glob("*.json"))


MAIN = "metaflow.json"
SANDBOX = "metaflow-sandbox.json"


def parameter_files(template_name: str = MAIN) -> list[Path | None]:
    """No file, then the parameter files made for this template: every one for the main stack,
    its own for the sandbox product (which admits only sandbox values), none for the catalog
    templates (they take no configuration)."""
    files = sorted((GENERATED / "params").glob("*.json"))
    if template_name == MAIN:
        return [None, *files]
    if template_name == SANDBOX:
        return [None, GENERATED / "params" / "sandbox.json"]
    return [None]


def cfn_lint(*templates: Path, params: Path | None = None) -> list[str]:
    """cfn-lint's findings at every level, informational included, one line each. A run that fails
    without a finding (a crash, an unreadable file) raises: silence is not a pass."""
    command = [str(CFN_LINT), "-c", "I", "--format", "parseable"]
    command += ["--non-zero-exit-code", "informational"]
    if params:
        command += ["--parameter-files", str(params)]
    result = subprocess.run([*command, "--", *map(str, templates)], capture_output=True, text=True)
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode and not findings:
        raise RuntimeError(f"cfn-lint failed: {result.stderr.strip()}")
    return findings


def checkov(folder: Path) -> dict[str, dict]:
    """checkov over every template in `folder`, in one process (its start-up dominates); per
    file name: passed/failed/skipped counts and the failed checks."""
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(folder),
            "--framework",
            "cloudformation",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout)
    results = report.get("results", {}) if isinstance(report, dict) else {}
    per_file = {
        path.name: {"passed": 0, "failed": 0, "skipped": 0, "failures": []}
        for path in folder.glob("*.json")
    }
    for outcome in ("passed", "failed", "skipped"):
        for check in results.get(f"{outcome}_checks", []):
            counts = per_file[Path(check["file_path"]).name]
            counts[outcome] += 1
            if outcome == "failed":
                counts["failures"].append(
                    f"{check['check_id']} {check['resource']}: {check['check_name']}"
                )
    return per_file


def skips(template: dict) -> list[tuple[str, str, str]]:
    return [
        (name, skip["id"], skip["comment"])
        for name, body in template["Resources"].items()
        for skip in body.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def main() -> int:
    print(
        f"{'template':<26}{'parameters':<14}{'cfn-lint':>9}{'passed':>8}{'failed':>8}{'skipped':>9}"
    )
    problems = []
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for path in templates():
            template = json.loads(path.read_text())
            for params in parameter_files(path.name):
                label = params.stem if params else "none"
                findings = cfn_lint(path, params=params)
                problems += findings
                # checkov reads the template as generated for "none", else as CloudFormation
                # would deploy it for the file's values.
                body = deployed(template, read_parameter_file(params)) if params else template
                target = f"{path.stem}--{label}.json"
                (Path(scratch) / target).write_text(json.dumps(body))
                rows.append((path.name, label, len(findings), target))
        checked = checkov(Path(scratch))
    for name, label, findings, target in rows:
        result = checked[target]
        print(
            f"{name:<26}{label:<14}{findings:>9}{result['passed']:>8}{result['failed']:>8}"
            f"{result['skipped']:>9}"
        )
        problems += [f"{name} {label}: {failure}" for failure in result["failures"]]
    for path in templates():
        listed = skips(json.loads(path.read_text()))
        print(f"\n{path.name}: {len(listed)} checkov skips, each in its resource's Metadata")
        for resource, check, reason in listed:
            print(f"  {check:<12}{resource:<28}{reason}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
