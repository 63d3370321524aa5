"""`python -m wizard`: point Metaflow at a deployed stack.

Interactive without --stack; with --stack it asks nothing (scripts, CI). `python -m wizard publish`
runs the publisher (wizard/publish.py).
"""

import argparse
import functools
import importlib
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from wizard import WizardError, checks, config
from wizard import interactive as ui
from wizard.stack import AUTH_KEY, AccessDenied, Aws, candidates, fetch_api_key, read

S3_ENDPOINT = "METAFLOW_S3_ENDPOINT_URL"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wizard",
        description="Write the Metaflow config for a deployed Metaflow stack.",
        epilog="Also: python -m wizard publish --help",
    )
    p.add_argument("--stack", help="stack name; without it the wizard asks (interactive)")
    p.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    p.add_argument("--profile", help="Metaflow profile to write (default: config.json)")
    p.add_argument("--aws-profile", help="AWS named profile for credentials (default: AWS_PROFILE)")
    p.add_argument("--yes", action="store_true", help="replace an existing file (a backup is kept)")
    p.add_argument("--print", action="store_true", help="print the config; write no file")
    p.add_argument("--show-secrets", action="store_true", help="with --print: the key unmasked")
    p.add_argument("--check", action="store_true", help="check bucket, job queue, metadata service")
    p.add_argument(
        "--auth-key-stdin",
        action="store_true",
        help="read the API key value from stdin instead of API Gateway",
    )
    p.add_argument(
        "--endpoint-url",
        help="an AWS endpoint such as the local emulator: used for every AWS call and written "
        f"as {S3_ENDPOINT} so Metaflow's S3 client uses it too",
    )
    return p


def main(argv: list[str] | None = None, session: boto3.Session | None = None) -> int:
    """Exit status: 0 done, 1 error or failed check, 2 usage, 130 cancelled."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["publish"]:
        return _publish(argv[1:])
    args = parser().parse_args(argv)
    try:
        return run(args, session)
    except KeyboardInterrupt:
        return _fail("cancelled; nothing written", 130)
    except WizardError as error:
        return _fail(str(error))
    except NoCredentialsError:
        return _fail("no AWS credentials found; configure a profile or set AWS_PROFILE")
    except ClientError as error:
        detail = error.response["Error"]
        return _fail(f"AWS {error.operation_name}: {detail.get('Code')}: {detail.get('Message')}")
    except BotoCoreError as error:
        return _fail(f"AWS: {error}")


def _fail(message: str, code: int = 1) -> int:
    print(f"wizard: {message}", file=sys.stderr)
    return code


def _publish(argv: list[str]) -> int:
    # Imported on use: configuring Metaflow needs none of the publisher's code.
    return importlib.import_module("wizard.publish").main(argv)


def run(args: argparse.Namespace, session: boto3.Session | None = None) -> int:
    interactive = args.stack is None
    if interactive and not sys.stdin.isatty():
        raise WizardError("not a terminal: pass --stack NAME to run without questions")
    session = session or boto3.Session(profile_name=args.aws_profile)
    if session.get_credentials() is None:
        raise NoCredentialsError()
    region = args.region or session.region_name
    if interactive and not args.region:
        region = ui.region(session.get_available_regions("cloudformation"), region)
    if not region:
        raise WizardError("no AWS region: pass --region or set AWS_REGION")
    aws = Aws(session, region, args.endpoint_url)

    stack = read(aws, args.stack or ui.stack(candidates(aws), region))
    profile = args.profile
    if interactive and profile is None:
        profile = ui.profile(config.profiles())
    path = config.path_for(profile)
    existing = config.load(path)

    values = dict(stack.values)
    if args.endpoint_url:
        values[S3_ENDPOINT] = args.endpoint_url
    if stack.api_key_id:
        values[AUTH_KEY] = _auth_key(args, aws, stack.api_key_id, interactive)
    new = config.merge(existing, values)

    say = functools.partial(print, file=sys.stderr if args.print else sys.stdout)
    if args.print:
        sys.stdout.write(config.render(new if args.show_secrets else config.mask(new)))
    elif new == existing:
        say(f"{path} already matches stack {stack.name}; nothing to write")
    else:
        if interactive:
            print(config.diff(path, existing, new), end="")
            if not ui.confirm(path):
                raise WizardError("not confirmed; nothing written")
        elif existing is not None and not args.yes:
            raise WizardError(f"{path} exists; pass --yes to replace it (a backup is kept)")
        backup = config.write(path, new)
        say(f"wrote {path} from stack {stack.name} ({region})")
        if backup:
            say(f"previous file kept as {backup}")
    if args.check:
        return 0 if checks.run(aws, new, say) else 1
    return 0


def _auth_key(args, aws: Aws, key_id: str, interactive: bool) -> str:
    if args.auth_key_stdin:
        value = sys.stdin.readline().strip()
        if not value:
            raise WizardError("--auth-key-stdin: no key on stdin")
        return value
    try:
        return fetch_api_key(aws, key_id)
    except AccessDenied as denied:
        if not interactive:
            raise WizardError(f"{denied}; pass the value with --auth-key-stdin") from None
        print(f"wizard: {denied}", file=sys.stderr)
        return ui.api_key()
