"""The prompts of an interactive run. Each raises KeyboardInterrupt on Ctrl-C (unsafe_ask), so the
caller stops before anything is written."""

import questionary

TYPE_NAME = "Type a stack name..."
DEFAULT_PROFILE = "default (config.json)"
NEW_PROFILE = "A new named profile..."


def _not_blank(text: str) -> bool | str:
    return bool(text.strip()) or "enter a name"


def region(available: list[str], current: str | None) -> str:
    default = current if current in available else None
    return questionary.select("AWS region", choices=available, default=default).unsafe_ask()


def stack(names: list[str], region: str) -> str:
    if names:
        picked = questionary.select(f"Stack in {region}", choices=[*names, TYPE_NAME]).unsafe_ask()
        if picked != TYPE_NAME:
            return picked
    else:
        print(f"No stack in {region} carries this template's outputs.")
    return questionary.text("Stack name", validate=_not_blank).unsafe_ask().strip()


def profile(existing: list[str]) -> str | None:
    """None is Metaflow's default profile."""
    choices = [DEFAULT_PROFILE, *existing, NEW_PROFILE]
    picked = questionary.select("Metaflow profile", choices=choices).unsafe_ask()
    if picked == DEFAULT_PROFILE:
        return None
    if picked == NEW_PROFILE:
        return questionary.text("Profile name", validate=_not_blank).unsafe_ask().strip()
    return picked


def api_key() -> str:
    return questionary.password("Paste the API key value", validate=_not_blank).unsafe_ask().strip()


def confirm(path) -> bool:
    return questionary.confirm(f"Write {path}?", default=True).unsafe_ask()
