"""SQS queues with their encryption and access policy (ListQueues, then GetQueueAttributes per queue)."""
from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlparse

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource

QUEUES = "sqs.queues"
QUEUE_ATTRIBUTES = "sqs.queue_attributes"
_ATTRIBUTES = ["QueueArn", "KmsMasterKeyId", "SqsManagedSseEnabled", "Policy"]


class Queue(Resource):
    resource_type: ClassVar[str] = "AWS::SQS::Queue"
    name: str
    url: str
    attributes_read: bool = False  # False: GetQueueAttributes failed (see gaps); the fields below are unknown
    kms_master_key_id: str | None = None
    sqs_managed_sse: bool | None = None
    policy: str | None = None  # None: no access policy


class SqsSection(Section):
    queues: list[Queue] = []


def queue_arn(ctx: CollectContext, url: str) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name> -> arn:<partition>:sqs:<region>:<account>:<name>."""
    parts = urlparse(url).path.strip("/").split("/")
    account, name = (parts[0], parts[-1]) if len(parts) >= 2 else (ctx.account_id, parts[-1])
    return ctx.arn("sqs", name, ctx.region, account)


@collector("sqs", section=SqsSection, regional=True, datasets={
    QUEUES: ("sqs:ListQueues",),
    QUEUE_ATTRIBUTES: ("sqs:GetQueueAttributes",),
})
def collect_sqs(ctx: CollectContext) -> SqsSection:
    sqs = ctx.client()
    urls = ctx.paginate(QUEUES, sqs, "list_queues", "QueueUrls")

    def queue(url: str) -> Queue:
        arn = queue_arn(ctx, url)
        base = {"arn": arn, "id": arn.rsplit(":", 1)[-1], "name": arn.rsplit(":", 1)[-1], "url": url,
                "region": ctx.region, "account_id": arn.split(":")[4]}
        resp = ctx.call(QUEUE_ATTRIBUTES, sqs, "get_queue_attributes", QueueUrl=url, AttributeNames=_ATTRIBUTES,
                        resource_id=arn)
        if resp is None:
            return Queue(**base)
        attrs = resp.get("Attributes") or {}
        return Queue(**base, attributes_read=True, kms_master_key_id=attrs.get("KmsMasterKeyId") or None,
                     sqs_managed_sse=str(attrs.get("SqsManagedSseEnabled", "false")).lower() == "true",
                     policy=attrs.get("Policy") or None)

    return SqsSection(queues=sorted(ctx.map(queue, sorted(urls or [])), key=lambda q: q.arn))
