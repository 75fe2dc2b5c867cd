"""DynamoDB: one table, plain Python dicts in and out."""

from decimal import Decimal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from django.conf import settings

from emailhub.aws.calls import call, error_code, error_message
from emailhub.errors import AwsUnavailable, ConditionFailed, TransactionConflict

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def table_name():
    return settings.EMAILHUB_TABLE


def serialize(item):
    return {key: _serializer.serialize(_to_dynamo(value)) for key, value in item.items()}


def deserialize(raw):
    return {key: _from_dynamo(_deserializer.deserialize(value)) for key, value in raw.items()}


def _to_dynamo(value):
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def _dynamo(operation, **kwargs):
    try:
        return call("dynamodb", operation, **kwargs)
    except ClientError as err:
        code = error_code(err)
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(error_message(err)) from err
        if code == "TransactionCanceledException":
            codes = [r.get("Code", "None") for r in err.response.get("CancellationReasons", [])]
            reasons = set(codes)
            if "ConditionalCheckFailed" in reasons:
                failed = [i for i, c in enumerate(codes) if c == "ConditionalCheckFailed"]
                raise ConditionFailed(error_message(err), failed_indexes=failed) from err
            if "TransactionConflict" in reasons:
                raise TransactionConflict(error_message(err)) from err
            raise AwsUnavailable(f"DynamoDB {operation}: {error_message(err)}") from err
        if code == "TransactionConflictException":
            raise TransactionConflict(error_message(err)) from err
        raise AwsUnavailable(f"DynamoDB {operation}: {code} {error_message(err)}") from err


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def get(pk, sk, *, consistent=True):
    response = _dynamo("get_item", TableName=table_name(), Key=key(pk, sk), ConsistentRead=consistent)
    raw = response.get("Item")
    return deserialize(raw) if raw else None


def put(item, *, condition=None, names=None, values=None):
    _dynamo("put_item", **put_args(item, condition=condition, names=names, values=values))


def update_args(pk, sk, *, expression, names=None, values=None, condition=None):
    """The arguments of one UpdateItem, for `update` or a transaction."""
    kwargs = {"TableName": table_name(), "Key": key(pk, sk), "UpdateExpression": expression}
    _add_expression_args(kwargs, condition, names, values)
    return kwargs


def update(pk, sk, *, expression, names=None, values=None, condition=None):
    """Apply an update expression; returns the item as it is afterwards."""
    kwargs = update_args(pk, sk, expression=expression, names=names, values=values, condition=condition)
    return deserialize(_dynamo("update_item", ReturnValues="ALL_NEW", **kwargs)["Attributes"])


def delete_args(pk, sk, *, condition=None, names=None, values=None):
    kwargs = {"TableName": table_name(), "Key": key(pk, sk)}
    _add_expression_args(kwargs, condition, names, values)
    return kwargs


def delete(pk, sk, *, condition=None, names=None, values=None):
    _dynamo("delete_item", **delete_args(pk, sk, condition=condition, names=names, values=values))


def put_args(item, *, condition=None, names=None, values=None):
    kwargs = {"TableName": table_name(), "Item": serialize(item)}
    _add_expression_args(kwargs, condition, names, values)
    return kwargs


def condition_args(pk, sk, *, condition, names=None, values=None):
    kwargs = {"TableName": table_name(), "Key": key(pk, sk)}
    _add_expression_args(kwargs, condition, names, values)
    return kwargs


def transact(operations, *, token=None):
    """Apply several writes atomically: `operations` is a list of
    ("Put", put_args(...)), ("Update", update_args(...)),
    ("Delete", delete_args(...)) or ("ConditionCheck", condition_args(...)); any failed
    condition cancels them all (ConditionFailed)."""
    kwargs = {"TransactItems": [{kind: args} for kind, args in operations]}
    if token:
        kwargs["ClientRequestToken"] = token  # an SDK retry of a committed call succeeds, not fails
    _dynamo("transact_write_items", **kwargs)


def query(*, index=None, key_condition, names=None, values=None, limit=None,
          start_key=None, newest_first=True, filter_expression=None):
    """One Query page: (items, last_evaluated_key or None)."""
    kwargs = {
        "TableName": table_name(),
        "KeyConditionExpression": key_condition,
        "ScanIndexForward": not newest_first,
    }
    if index:
        kwargs["IndexName"] = index
    if limit:
        kwargs["Limit"] = limit
    if start_key:
        kwargs["ExclusiveStartKey"] = start_key
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    _add_expression_args(kwargs, None, names, values)
    response = _dynamo("query", **kwargs)
    items = [deserialize(raw) for raw in response.get("Items", [])]
    return items, response.get("LastEvaluatedKey")


def batch_get(keys):
    """Fetch items by (pk, sk); returns them keyed by pk. Retries unprocessed keys."""
    found = {}
    pending = [key(pk, sk) for pk, sk in dict.fromkeys(keys)]  # BatchGetItem refuses duplicate keys
    while pending:
        chunk, pending = pending[:100], pending[100:]
        request = {table_name(): {"Keys": chunk}}
        while request:
            response = _dynamo("batch_get_item", RequestItems=request)
            for raw in response.get("Responses", {}).get(table_name(), []):
                item = deserialize(raw)
                found[item["pk"]] = item
            request = response.get("UnprocessedKeys") or None
    return found


def _add_expression_args(kwargs, condition, names, values):
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = serialize(values)


def table_status():
    return _dynamo("describe_table", TableName=table_name())["Table"]["TableStatus"]


def table_ensure(spec, *, retired_indexes=()):
    """Create the table (and any index it lacks), delete the `retired_indexes`
    it still has, and turn on TTL. Returns "created", "updated" or "exists"."""
    from emailhub.aws.clients import client

    dynamo = client("dynamodb")
    try:
        existing = dynamo.describe_table(TableName=spec["TableName"])["Table"]
    except ClientError as err:
        if error_code(err) != "ResourceNotFoundException":
            raise
        dynamo.create_table(**spec)
        dynamo.get_waiter("table_exists").wait(TableName=spec["TableName"], WaiterConfig={"Delay": 1})
        _ttl_ensure(dynamo, spec["TableName"])
        return "created"
    have = {index["IndexName"] for index in existing.get("GlobalSecondaryIndexes", [])}
    missing = [index for index in spec["GlobalSecondaryIndexes"] if index["IndexName"] not in have]
    for index in missing:  # one new index per UpdateTable, and only once the last one is built
        dynamo.update_table(
            TableName=spec["TableName"],
            AttributeDefinitions=spec["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        _wait_for_indexes(dynamo, spec["TableName"])
    # Only after its replacement is built, so a page never lacks an index.
    retired = [name for name in retired_indexes if name in have]
    for name in retired:
        dynamo.update_table(TableName=spec["TableName"], GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])
        _wait_for_indexes(dynamo, spec["TableName"])
    ttl_changed = _ttl_ensure(dynamo, spec["TableName"])
    return "updated" if missing or retired or ttl_changed else "exists"


def _wait_for_indexes(dynamo, name, *, seconds=1800):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        table = dynamo.describe_table(TableName=name)["Table"]
        if all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in table.get("GlobalSecondaryIndexes", [])):
            return
        time.sleep(5)
    raise AwsUnavailable(f"The indexes of {name} are still being built; run bootstrap_aws again later.")


def _ttl_ensure(dynamo, name):
    from emailhub.model import TTL_ATTRIBUTE

    current = dynamo.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return False
    dynamo.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    return True
