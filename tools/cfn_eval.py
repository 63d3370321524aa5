"""What a template means for given parameter values, without deploying it.

Parameter values (defaults overridden), conditions evaluated, `Fn::If` decided and `AWS::NoValue`
left out, conditional resources and outputs kept only where their condition holds. The unit tests,
`make lint` (checkov cannot read parameter files) and `make report` (it prices what is created) all
read templates through this one module. Functions conditions do not use (Ref to resources, GetAtt,
Sub, ...) are left as they are.
"""

import json
from pathlib import Path

NO_VALUE = {"Ref": "AWS::NoValue"}


def read_parameter_file(path: Path) -> dict[str, str]:
    """A CloudFormation parameter file ([{"ParameterKey": ..., "ParameterValue": ...}])."""
    return {row["ParameterKey"]: row["ParameterValue"] for row in json.loads(path.read_text())}


def _is_list(spec: dict) -> bool:
    return spec["Type"] == "CommaDelimitedList" or spec["Type"].startswith("List<")


def parameter_strings(template: dict, params: dict[str, str] | None = None) -> dict[str, str]:
    """Every parameter's value as given to CloudFormation: `params` where given, else the
    default."""
    unknown = set(params or {}) - set(template.get("Parameters", {}))
    if unknown:
        raise ValueError(f"not parameters of the template: {sorted(unknown)}")
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = (params or {}).get(name, spec.get("Default"))
        if value is None:
            raise ValueError(f"parameter {name} has no default and no value")
        values[name] = str(value)
    return values


def parameter_values(template: dict, params: dict[str, str] | None = None) -> dict:
    """Every parameter's value as a template sees it: list parameters split into lists."""
    specs = template.get("Parameters", {})
    return {
        name: value.split(",") if _is_list(specs[name]) else value
        for name, value in parameter_strings(template, params).items()
    }


def evaluate_conditions(template: dict, params: dict[str, str] | None = None) -> dict[str, bool]:
    values = parameter_values(template, params)
    definitions = template.get("Conditions", {})
    conditions: dict[str, bool] = {}

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = truth(definitions[name])
        return conditions[name]

    def value(node):
        if isinstance(node, dict) and "Ref" in node:
            return values[node["Ref"]]
        if isinstance(node, dict) and "Condition" in node:
            return condition(node["Condition"])
        if isinstance(node, dict):
            raise ValueError(f"unsupported in a condition: {node}")
        return str(node)

    def truth(node) -> bool:
        ((function, args),) = node.items()
        if function == "Fn::Equals":
            return value(args[0]) == value(args[1])
        if function == "Fn::And":
            return all(truth(arg) for arg in args)
        if function == "Fn::Or":
            return any(truth(arg) for arg in args)
        if function == "Fn::Not":
            return not truth(args[0])
        if function == "Condition":
            return condition(args)
        raise ValueError(f"unsupported condition function: {function}")

    return {name: condition(name) for name in definitions}


def resolve(node, conditions: dict[str, bool]):
    """`node` with every Fn::If decided and every AWS::NoValue left out."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, if_true, if_false = node["Fn::If"]
            return resolve(if_true if conditions[name] else if_false, conditions)
        resolved = {key: resolve(value, conditions) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value != NO_VALUE}
    if isinstance(node, list):
        return [item for item in (resolve(i, conditions) for i in node) if item != NO_VALUE]
    return node


def _existing(section: dict, conditions: dict[str, bool]) -> dict:
    return {
        name: resolve({k: v for k, v in body.items() if k != "Condition"}, conditions)
        for name, body in section.items()
        if conditions.get(body.get("Condition"), True)
    }


def resources(template: dict, params: dict[str, str] | None = None) -> dict[str, dict]:
    """The resources that exist for `params`, with their conditional properties resolved."""
    return _existing(template["Resources"], evaluate_conditions(template, params))


def deployed(template: dict, params: dict[str, str] | None = None) -> dict:
    """The whole template as CloudFormation deploys it for `params`: resources and outputs whose
    condition fails left out, the rest resolved, each parameter's default set to its value."""
    conditions = evaluate_conditions(template, params)
    strings = parameter_strings(template, params)
    body = {k: v for k, v in template.items() if k not in ("Resources", "Outputs", "Parameters")}
    body["Parameters"] = {
        name: {**spec, "Default": strings[name]}
        for name, spec in template.get("Parameters", {}).items()
    }
    body["Resources"] = _existing(template["Resources"], conditions)
    body["Outputs"] = _existing(template.get("Outputs", {}), conditions)
    return body
