"""SNS topics with their attributes (encryption, policy, subscription counts) and the region's subscriptions.

Subscriptions come from one ListSubscriptions listing per region, not one call per topic. Endpoints are not
kept (an HTTPS endpoint may carry a token); only the protocol, and "chatbot" for AWS Chatbot endpoints.
"""
from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlparse

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

TOPICS = "sns.topics"
TOPIC_ATTRIBUTES = "sns.topic-attributes"
SUBSCRIPTIONS = "sns.subscriptions"


class Topic(Resource):
    resource_type: ClassVar[str] = "AWS::SNS::Topic"
    name: str
    attributes_read: bool = False  # False: GetTopicAttributes failed (see gaps); the fields below are unknown
    kms_master_key_id: str | None = None  # None: not encrypted with KMS (when attributes_read)
    policy: str | None = None
    fifo: bool | None = None
    subscriptions_confirmed: int | None = None
    subscriptions_pending: int | None = None


class Subscription(Frozen):
    region: str
    arn: str  # "PendingConfirmation" until the endpoint confirms
    topic_arn: str
    protocol: str
    kind: str  # protocol, or "chatbot" for AWS Chatbot HTTPS endpoints
    owner: str = ""

    @property
    def confirmed(self) -> bool:
        return self.arn.startswith("arn:")


class SnsSection(Section):
    topics: list[Topic] = []
    subscriptions: list[Subscription] = []


def _kind(sub: dict[str, Any]) -> str:
    proto = sub.get("Protocol", "")
    host = (urlparse(str(sub.get("Endpoint") or "")).hostname or "") if proto in ("http", "https") else ""
    return "chatbot" if host.endswith("chatbot.amazonaws.com") else proto


def _count(attrs: dict[str, Any], key: str) -> int | None:
    try:
        return int(attrs[key])
    except (KeyError, TypeError, ValueError):
        return None


@collector("sns", section=SnsSection, regional=True, datasets={
    TOPICS: ("sns:ListTopics",),
    TOPIC_ATTRIBUTES: ("sns:GetTopicAttributes",),
    SUBSCRIPTIONS: ("sns:ListSubscriptions",),
})
def collect_sns(ctx: CollectContext) -> SnsSection:
    sns = ctx.client()
    listed = ctx.paginate(TOPICS, sns, "list_topics", "Topics")
    subs = ctx.paginate(SUBSCRIPTIONS, sns, "list_subscriptions", "Subscriptions")

    def topic(arn: str) -> Topic:
        base = {"arn": arn, "id": arn.split(":")[-1], "name": arn.split(":")[-1], "region": ctx.region,
                "account_id": arn.split(":")[4]}
        resp = ctx.call(TOPIC_ATTRIBUTES, sns, "get_topic_attributes", TopicArn=arn, resource_id=arn)
        if resp is None:
            return Topic(**base)
        attrs = resp.get("Attributes") or {}
        return Topic(**base, attributes_read=True, kms_master_key_id=attrs.get("KmsMasterKeyId") or None,
                     policy=attrs.get("Policy") or None, fifo=str(attrs.get("FifoTopic", "false")).lower() == "true",
                     subscriptions_confirmed=_count(attrs, "SubscriptionsConfirmed"),
                     subscriptions_pending=_count(attrs, "SubscriptionsPending"))

    arns = sorted(t["TopicArn"] for t in listed or [])
    return SnsSection(
        topics=ctx.map(topic, arns),
        subscriptions=sorted((Subscription(region=ctx.region, arn=s.get("SubscriptionArn", ""),
                                           topic_arn=s.get("TopicArn", ""), protocol=s.get("Protocol", ""),
                                           kind=_kind(s), owner=s.get("Owner", "")) for s in subs or []),
                             key=lambda s: (s.topic_arn, s.arn, s.protocol)))
