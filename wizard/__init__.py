"""The configure wizard: from a deployed stack to a working Metaflow profile."""


class WizardError(Exception):
    """A problem the user can fix; reported as one line on stderr, with a non-zero exit."""
