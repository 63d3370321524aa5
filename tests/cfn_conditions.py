"""What a template means for given parameter values: its conditions, resources and properties.

A small evaluator of the intrinsic functions conditions use (Fn::Equals, And, Or, Not, Condition,
Ref to parameters), and of Fn::If with AWS::NoValue, so unit tests can ask "which resources exist
for these parameters, and with which properties" without deploying. Functions it does not know
(Ref to resources, GetAtt, Sub, ...) are left as they are.
"""

NO_VALUE = {"Ref": "AWS::NoValue"}


def parameter_values(template: dict, params: dict[str, str] | None = None) -> dict:
    """Every parameter's value: `params` where given, else the template's default."""
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = str((params or {}).get(name, spec.get("Default", "")))
        is_list = spec["Type"] == "CommaDelimitedList" or spec["Type"].startswith("List<")
        values[name] = value.split(",") if is_list else value
    unknown = set(params or {}) - set(values)
    assert not unknown, f"not parameters of the template: {unknown}"
    return values


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
        (function, args), *_ = node.items()
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


def resources(template: dict, params: dict[str, str] | None = None) -> dict[str, dict]:
    """The resources that exist for `params`, with their conditional properties resolved."""
    conditions = evaluate_conditions(template, params)
    return {
        name: resolve(resource, conditions)
        for name, resource in template["Resources"].items()
        if conditions.get(resource.get("Condition"), True)
    }
