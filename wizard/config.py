"""The Metaflow config file: where it lives, how a new one merges into it, and a safe write."""

import difflib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from templates_src.contract import config_keys
from wizard import WizardError
from wizard.stack import AUTH_KEY

SECRETS = {AUTH_KEY}


def home() -> Path:
    return Path(os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")).expanduser()


def path_for(profile: str | None) -> Path:
    """The file Metaflow reads for `profile` (None: the default profile), as Metaflow names it."""
    if profile is None:
        return home() / "config.json"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", profile):
        raise WizardError(f"profile name {profile!r}: use letters, digits, '.', '_' or '-'")
    return home() / f"config_{profile}.json"


def profiles() -> list[str]:
    """Named profiles already in METAFLOW_HOME."""
    return sorted(p.name[len("config_") : -len(".json")] for p in home().glob("config_*.json"))


def load(path: Path) -> dict | None:
    """The existing config, None if there is none; WizardError if it cannot be trusted."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        # No file yet; if METAFLOW_HOME itself is unusable, the write reports it.
        return None
    except OSError as error:
        raise WizardError(f"cannot read {path}: {error.strerror}; not touching it") from None
    try:
        existing = json.loads(text)
    except ValueError as error:
        raise WizardError(f"{path} is not valid JSON ({error}); fix or move it first") from None
    if not isinstance(existing, dict):
        raise WizardError(f"{path} is not a JSON object; fix or move it first")
    return existing


def merge(existing: dict | None, values: dict[str, str]) -> dict:
    """`values` over `existing`. Keys the stack owns but this stack lacks are dropped (they would
    describe another stack); keys the stack does not own are the user's and are kept."""
    owned = config_keys() | set(values)
    kept = {k: v for k, v in (existing or {}).items() if k not in owned}
    return dict(sorted({**kept, **values}.items()))


def mask(config: dict) -> dict:
    return {k: (_masked(v) if k in SECRETS else v) for k, v in config.items()}


def _masked(secret: str) -> str:
    return f"****{secret[-4:]}" if len(secret) > 12 else "****"


def render(config: dict) -> str:
    return json.dumps(config, indent=4) + "\n"


def diff(path: Path, existing: dict | None, new: dict) -> str:
    """What the write changes, secrets masked on both sides."""
    before = render(mask(existing)).splitlines(keepends=True) if existing is not None else []
    after = render(mask(new)).splitlines(keepends=True)
    label = str(path) if existing is not None else "/dev/null"
    return "".join(difflib.unified_diff(before, after, label, str(path)))


def write(path: Path, config: dict) -> Path | None:
    """Atomically replace `path` with `config`, mode 0600; return the backup of the old file."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600, so the secret is never readable by others, not even
        # briefly; the same directory makes the rename atomic.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise WizardError(f"cannot write in {path.parent}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(config))
            out.flush()
            os.fsync(out.fileno())
        backup = _backup(path) if path.exists() else None
        os.replace(temp, path)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise WizardError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return backup


def _backup(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{stamp}-{n}.bak")
        n += 1
    shutil.copy2(path, backup)
    backup.chmod(0o600)
    return backup
