"""The health check's read: one GetItem on a sentinel key that no record uses."""

from __future__ import annotations

from .errors import StoreUnavailable
from .table import Table, translate_errors

HEALTH_SENTINEL_KEY = "#healthcheck"


def ping(table: Table) -> None:
    """One cheap read; StoreUnavailable if it fails.

    GetItem needs no permission the app lacks (DescribeTable would) and costs half a
    read unit; a missing table or a refused request counts as unreachable.
    """
    from botocore.exceptions import ClientError

    try:
        with translate_errors():
            table.client.get_item(
                TableName=table.name,
                Key=table.key(HEALTH_SENTINEL_KEY),
                ProjectionExpression="appointmentId",
            )
    except ClientError as error:
        raise StoreUnavailable(error.response.get("Error", {}).get("Code", "")) from error
