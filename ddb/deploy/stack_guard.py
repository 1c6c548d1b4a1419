"""What a stack change would do to the table, found before CloudFormation is asked to do it.

CloudFormation replaces an `AWS::DynamoDB::Table` (a new, empty table) when its
TableName, KeySchema, LocalSecondaryIndexes or ImportSourceSpecification change, and
removes it when its resource leaves the template; a GSI, billing or throughput change is
an in-place update. `table_threats` compares the deployed template with the new one, with
their parameters resolved, and needs no request: the deploy refuses before it writes.
`change_set_threats` reads CloudFormation's own verdict (Action Remove, Replacement True or
Conditional) from a change set, as the second line of defence.
"""

TABLE_TYPE = "AWS::DynamoDB::Table"
REPLACING_PROPERTIES = ("TableName", "KeySchema", "LocalSecondaryIndexes", "ImportSourceSpecification")


def tables(template: dict) -> dict[str, dict]:
    """The table resources of a template, by logical id."""
    return {
        name: resource
        for name, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == TABLE_TYPE
    }


def _resolved(value: object, parameters: dict):
    """`value` with `{"Ref": parameter}` replaced by the parameter's value, all the way down."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        return {k: _resolved(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, parameters) for v in value]
    return value


def _defaults(template: dict) -> dict:
    return {
        name: spec["Default"]
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, dict) and "Default" in spec
    }


def _shown(value: object) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list) and all(isinstance(k, dict) and "AttributeName" in k for k in value):
        return ", ".join(f"{k['AttributeName']} {k.get('KeyType', '')}".strip() for k in value)
    return str(value)


def _key_types(properties: dict) -> dict[str, str | None]:
    types = {a.get("AttributeName"): a.get("AttributeType") for a in properties.get("AttributeDefinitions") or []}
    return {k.get("AttributeName"): types.get(k.get("AttributeName")) for k in properties.get("KeySchema") or []}


def table_threats(deployed: dict, deployed_parameters: dict, new: dict, new_parameters: dict) -> list[str]:
    """How applying `new` would replace or remove a table of `deployed` (empty when it would not).

    Parameters not given take the template's defaults, as CloudFormation does.
    """
    old_values = {**_defaults(deployed), **deployed_parameters}
    new_values = {**_defaults(new), **new_parameters}
    new_resources = new.get("Resources") or {}
    found = []
    for name, old_table in tables(deployed).items():
        replacement = new_resources.get(name)
        old_name = _resolved((old_table.get("Properties") or {}).get("TableName"), old_values)
        label = f"table {old_name!r}" if isinstance(old_name, str) else f"table resource {name}"
        if not isinstance(replacement, dict) or replacement.get("Type") != TABLE_TYPE:
            found.append(f"it would remove {label} from the stack (resource {name} leaves the template)")
            continue
        before = _resolved(old_table.get("Properties") or {}, old_values)
        after = _resolved(replacement.get("Properties") or {}, new_values)
        for prop in REPLACING_PROPERTIES:
            if (before.get(prop) or None) != (after.get(prop) or None):
                found.append(
                    f"it would replace {label} with a new, empty one (its {prop} changes from "
                    f"{_shown(before.get(prop))} to {_shown(after.get(prop))})"
                )
        old_types, new_types = _key_types(before), _key_types(after)
        if old_types.keys() == new_types.keys() and old_types != new_types:
            found.append(
                f"it would replace {label} with a new, empty one (its key attribute types change from {old_types} to {new_types})"
            )
    return found


def change_set_threats(changes: list[dict]) -> list[str]:
    """The table replacements and removals a described change set announces."""
    found = []
    for change in changes:
        resource = change.get("ResourceChange") or {}
        if resource.get("ResourceType") != TABLE_TYPE:
            continue
        name = resource.get("PhysicalResourceId") or resource.get("LogicalResourceId")
        if resource.get("Action") == "Remove":
            found.append(f"CloudFormation's change set removes table {name!r}")
        elif resource.get("Replacement") in ("True", "Conditional"):
            found.append(f"CloudFormation's change set replaces table {name!r} (Replacement: {resource['Replacement']})")
    return found
