"""What every template module shares: the template, its parameters and their console layout."""

from dataclasses import dataclass, field

from troposphere import AWS_NO_VALUE, Equals, If, Parameter, Ref, Template


@dataclass
class Stack:
    """The template being built, with parameters grouped for the CloudFormation console."""

    template: Template
    groups: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def parameter(self, group: str, name: str, label: str, **kwargs) -> Ref:
        self.template.add_parameter(Parameter(name, **kwargs))
        self.groups.setdefault(group, []).append(name)
        self.labels[name] = {"default": label}
        return Ref(name)

    def switch(self, group: str, name: str, label: str, default: bool, description: str) -> str:
        """A true/false parameter and the condition of the same name that reads it."""
        self.parameter(
            group,
            name,
            label,
            Type="String",
            Default=str(default).lower(),
            AllowedValues=["true", "false"],
            Description=description,
        )
        self.template.add_condition(name, Equals(Ref(name), "true"))
        return name

    def condition(self, name: str, expression) -> str:
        self.template.add_condition(name, expression)
        return name

    def finish(self) -> None:
        self.template.set_metadata(
            {
                "AWS::CloudFormation::Interface": {
                    "ParameterGroups": [
                        {"Label": {"default": group}, "Parameters": names}
                        for group, names in self.groups.items()
                    ],
                    "ParameterLabels": self.labels,
                }
            }
        )


NO_VALUE = Ref(AWS_NO_VALUE)
# Stateful resources outlive the stack and any update that would replace them.
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
SNAPSHOT = {"DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot"}


def skip_checks(resource, **reasons: str):
    """Record checkov checks that do not apply to `resource`, each with its reason, in the
    resource's own Metadata (the only place this project skips a check)."""
    resource.Metadata = {"checkov": {"skip": [{"id": i, "comment": c} for i, c in reasons.items()]}}
    return resource


def when(condition: str, value, otherwise=NO_VALUE):
    """`value` where `condition` holds, else `otherwise` (by default, the property is left out)."""
    return If(condition, value, otherwise)
