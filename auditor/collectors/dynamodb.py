"""DynamoDB tables with their server-side encryption (ListTables, then DescribeTable per table).

ListTables returns names only; the SSE description needs DescribeTable, spread over the detail pool.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

TABLES = "dynamodb.tables"
TABLE_DETAILS = "dynamodb.table_details"


class TableEncryption(Frozen):
    """SSEDescription. sse_type "" means the description is absent: the AWS-owned key encrypts the table."""

    sse_type: str = ""  # "KMS" | "AES256" (legacy) | ""
    status: str = ""  # ENABLED | ENABLING | DISABLING | DISABLED | UPDATING
    kms_key_arn: str = ""


class Table(Resource):
    resource_type: ClassVar[str] = "AWS::DynamoDB::Table"
    name: str
    status: str = ""
    encryption: TableEncryption | None = None  # None: DescribeTable failed (see gaps)


class DynamoDbSection(Section):
    tables: list[Table] = []


@collector("dynamodb", section=DynamoDbSection, regional=True, datasets={
    TABLES: ("dynamodb:ListTables",),
    TABLE_DETAILS: ("dynamodb:DescribeTable",),
})
def collect_dynamodb(ctx: CollectContext) -> DynamoDbSection:
    ddb = ctx.client()
    names = ctx.paginate(TABLES, ddb, "list_tables", "TableNames")

    def table(name: str) -> Table:
        arn = ctx.arn("dynamodb", f"table/{name}", ctx.region)
        base: dict[str, Any] = {"arn": arn, "id": name, "name": name, "region": ctx.region,
                                "account_id": ctx.account_id}
        resp = ctx.call(TABLE_DETAILS, ddb, "describe_table", TableName=name, resource_id=arn)
        if resp is None:
            return Table(**base)
        t = resp.get("Table") or {}
        sse = t.get("SSEDescription") or {}
        return Table(**{**base, "arn": t.get("TableArn") or arn}, status=t.get("TableStatus", ""),
                     encryption=TableEncryption(sse_type=sse.get("SSEType", ""), status=sse.get("Status", ""),
                                                kms_key_arn=sse.get("KMSMasterKeyArn", "")))

    return DynamoDbSection(tables=ctx.map(table, sorted(names or [])))
