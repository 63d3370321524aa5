"""The real-AWS taskcat matrix: print it as taskcat loads it, or run it.

Runs in .venv-taskcat, whose pinned libraries must never reach .venv:
    .venv-taskcat/bin/python tools/taskcat_run.py matrix [--config FILE]   # offline, JSON on stdout
    .venv-taskcat/bin/python tools/taskcat_run.py lint [--config FILE]     # offline taskcat lint
    .venv-taskcat/bin/python tools/taskcat_run.py run [taskcat test run options]   # make taskcat
"""

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

import botocore.session
from botocore.exceptions import ProfileNotFound
from taskcat._cfn_lint import Lint
from taskcat._config import Config

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".taskcat.yml"


def load_project(config_path: Path) -> Config:
    """The project file alone, through taskcat's loader, which validates it against its schema.

    A user's ~/.taskcat.yml, overrides file and TASKCAT_* variables stay out, so the matrix that
    the tests check is the same on every machine.
    """
    absent = config_path.parent / ".taskcat-absent.yml"
    return Config.create(
        project_root=config_path.parent,
        project_config_path=config_path,
        global_config_path=absent,
        overrides_path=absent,
        env_vars={},
    )


def matrix(config: Config) -> dict:
    return {
        name: {
            "template": test.template,
            "regions": test.regions,
            "parameters": test.parameters,
            "auth": test.auth or {},
        }
        for name, test in config.config.tests.items()
    }


def lint(config: Config) -> bool:
    """What `taskcat lint --strict` does, with each template and region set linted once.

    taskcat lints every template of the project once per test, so its time grows with the square
    of the number of tests; tests sharing a template and regions add nothing to the result.
    """
    distinct: dict[tuple, str] = {}
    for name, test in config.config.tests.items():
        distinct.setdefault((test.template, tuple(test.regions)), name)
    config.config.tests = {name: config.config.tests[name] for name in distinct.values()}
    result = Lint(config, config.get_templates(), strict=True)
    result.output_results()
    return result.passed and not result.lints[1]


def profile_for(test, region: str) -> str:
    # taskcat's own rule (taskcat._config.Config._get_regions).
    auth = test.auth or {}
    return auth.get(region, auth.get("default", "default"))


def has_credentials(profile: str) -> bool:
    """Whether botocore finds credentials for a profile, as taskcat looks them up, without AWS.

    taskcat asks for the named profile and, for "default" only, falls back to the default chain
    (environment, SSO, container or instance role) when no such profile exists.
    """
    for candidate in (profile, None) if profile == "default" else (profile,):
        try:
            return botocore.session.Session(profile=candidate).get_credentials() is not None
        except ProfileNotFound:
            continue
    return False


def regions_by_profile(config: Config, tests: set[str], regions: set[str]) -> dict[str, set]:
    """The profile each selected region deploys with (all tests and regions when none chosen)."""
    needed: dict[str, set[str]] = {}
    for name, test in config.config.tests.items():
        if tests and name not in tests:
            continue
        for region in test.regions:
            if not regions or region in regions:
                needed.setdefault(profile_for(test, region), set()).add(region)
    return needed


def run(taskcat_args: list[str]) -> int:
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("-t", "--test-names", default="")
    selection.add_argument("-r", "--regions", default="")
    chosen, _ = selection.parse_known_args(taskcat_args)
    # As `taskcat test run` will see it: with the user's ~/.taskcat.yml (auth may be set there).
    config = Config.create(project_root=ROOT, project_config_path=CONFIG)
    needed = regions_by_profile(
        config,
        {t for t in chosen.test_names.split(",") if t},
        {r for r in chosen.regions.split(",") if r},
    )
    missing = {p: sorted(r) for p, r in sorted(needed.items()) if not has_credentials(p)}
    if missing:
        where = "; ".join(f"profile {p} ({', '.join(r)})" for p, r in missing.items())
        usable = sorted(set().union(*(r for p, r in needed.items() if p not in missing)))
        remedy = "configure them (aws configure [--profile NAME], or aws sso login)"
        if usable:
            remedy += f", or run without: make taskcat TASKCAT_ARGS='--regions {','.join(usable)}'"
        print(f"make taskcat: no AWS credentials for {where}; {remedy}", file=sys.stderr)
        return 2
    taskcat = Path(sys.executable).parent / "taskcat"
    return subprocess.call([taskcat, "test", "run", *taskcat_args], cwd=ROOT)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("matrix", "print the tests as taskcat loads them (offline)"),
        ("lint", "taskcat's cfn-lint over every template, warnings included (offline)"),
    ]:
        commands.add_parser(name, help=text).add_argument("--config", type=Path, default=CONFIG)
    commands.add_parser("run", help="check credentials, then taskcat test run", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        return run(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    config = load_project(args.config.resolve())
    if args.command == "lint":
        # Importing taskcat gives its logger the CLI's handler, at level ERROR.
        logging.getLogger("taskcat").setLevel(logging.INFO)
        return 0 if lint(config) else 1
    json.dump(matrix(config), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
