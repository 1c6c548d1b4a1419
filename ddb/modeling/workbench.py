"""The data model as a NoSQL Workbench model (format 3.0), with the fixture items as its sample data.

Workbench imports the file (Data modeler, Import data model) and shows one facet per item
type with its key aliases, over the table's items in DynamoDB JSON.
"""

from ddb.data import model
from ddb.data.items import to_typed
from ddb.schema import declaration as schema

AUTHOR = "cruddur-ddb (invoke model.workbench)"


def _key(schema_keys: list[dict], types: dict[str, str]) -> dict:
    names = {k["KeyType"]: k["AttributeName"] for k in schema_keys}
    key = {"PartitionKey": {"AttributeName": names["HASH"], "AttributeType": types[names["HASH"]]}}
    if "RANGE" in names:
        key["SortKey"] = {"AttributeName": names["RANGE"], "AttributeType": types[names["RANGE"]]}
    return key


def _facet_name(kind: model.ItemType) -> str:
    return "".join(word.capitalize() for word in kind.name.split())


def workbench_model(table: str, sample_items: list[dict], billing: str = schema.PROVISIONED) -> dict:
    """The Workbench model of the declared table, its item types as facets, `sample_items` as TableData."""
    spec = schema.table_spec(table, billing)
    types = {a["AttributeName"]: a["AttributeType"] for a in spec["AttributeDefinitions"]}
    non_key: dict[str, str] = {}
    for kind in model.ITEM_TYPES:
        for name, kind_type in kind.attributes.items():
            non_key.setdefault(name, kind_type)
    stamp = model.SAMPLE_NOW.strftime("%b %d, %Y, %I:%M %p")
    data_model: dict = {
        "TableName": table,
        "KeyAttributes": _key(spec["KeySchema"], types),
        "NonKeyAttributes": [{"AttributeName": name, "AttributeType": kind_type} for name, kind_type in non_key.items()],
        "GlobalSecondaryIndexes": [
            {"IndexName": gsi["IndexName"], "KeyAttributes": _key(gsi["KeySchema"], types), "Projection": gsi["Projection"]}
            for gsi in spec["GlobalSecondaryIndexes"]
        ],
        "TableFacets": [
            {
                "FacetName": _facet_name(kind),
                "KeyAttributeAlias": {"PartitionKeyAlias": kind.pk, "SortKeyAlias": kind.sk},
                "NonKeyAttributes": list(kind.attributes),
                "DataAccess": {"MySql": {}},
            }
            for kind in model.ITEM_TYPES
        ],
        "TableData": [to_typed(item) for item in sample_items],
        "DataAccess": {"MySql": {}},
        "BillingMode": spec["BillingMode"],
    }
    if billing == schema.PROVISIONED:
        data_model["ProvisionedCapacitySettings"] = {"ProvisionedThroughput": spec["ProvisionedThroughput"]}
    return {
        "ModelName": table,
        "ModelMetadata": {
            "Author": AUTHOR,
            "DateCreated": stamp,
            "DateLastModified": stamp,
            "Description": "The single table of Cruddur's messages: item types, GSI and the fixtures as sample data",
            "AWSService": "Amazon DynamoDB",
            "Version": "3.0",
        },
        "DataModel": [data_model],
    }
