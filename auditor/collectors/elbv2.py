"""Application, Network and Gateway Load Balancers: scheme, listeners, access-log attributes, WAF association.

DescribeLoadBalancers lists them per region; attributes and listeners are per load balancer (the API has no
batch form). The web ACL (wafv2.GetWebACLForResource) is asked only for internet-facing ALBs, the only load
balancers AWS WAF can protect.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

LOAD_BALANCERS = "elbv2.load_balancers"
LB_ATTRIBUTES = "elbv2.load_balancer_attributes"
LISTENERS = "elbv2.listeners"
LB_WEB_ACLS = "elbv2.web_acls"


class AccessLogs(Frozen):
    enabled: bool = False  # access_logs.s3.enabled; absent counts as false (moto omits it until set)
    bucket: str = ""
    prefix: str = ""


class ListenerAction(Frozen):
    type: str
    redirect_protocol: str = ""  # RedirectConfig.Protocol for redirect actions ("#{protocol}" keeps the scheme)


class Listener(Frozen):
    arn: str
    protocol: str
    port: int | None = None
    default_actions: list[ListenerAction] = []

    @property
    def redirects_to_https(self) -> bool:
        return any(a.type == "redirect" and a.redirect_protocol.upper() == "HTTPS" for a in self.default_actions)


class LoadBalancer(Resource):
    resource_type: ClassVar[str] = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    name: str
    type: str = ""  # application | network | gateway
    scheme: str = ""  # internet-facing | internal
    dns_name: str = ""
    access_logs: AccessLogs | None = None  # None: attributes unreadable (see gaps)
    listeners: list[Listener] | None = None  # None: unreadable
    web_acl_arn: str | None = None  # "" = no web ACL; None = not asked (not a public ALB) or unreadable
    web_acl_read: bool = False

    @property
    def public_alb(self) -> bool:
        return self.type == "application" and self.scheme == "internet-facing"


class Elbv2Section(Section):
    load_balancers: list[LoadBalancer] = []


def _attributes(raw: list[dict[str, Any]]) -> AccessLogs:
    attrs = {a.get("Key", ""): a.get("Value", "") for a in raw}
    return AccessLogs(enabled=str(attrs.get("access_logs.s3.enabled", "false")).lower() == "true",
                      bucket=attrs.get("access_logs.s3.bucket", ""), prefix=attrs.get("access_logs.s3.prefix", ""))


def _listener(raw: dict[str, Any]) -> Listener:
    actions = [ListenerAction(type=a.get("Type", ""),
                              redirect_protocol=(a.get("RedirectConfig") or {}).get("Protocol", ""))
               for a in raw.get("DefaultActions") or []]
    return Listener(arn=raw.get("ListenerArn", ""), protocol=raw.get("Protocol", ""), port=raw.get("Port"),
                    default_actions=actions)


@collector("elbv2", section=Elbv2Section, regional=True, datasets={
    LOAD_BALANCERS: ("elasticloadbalancing:DescribeLoadBalancers",),
    LB_ATTRIBUTES: ("elasticloadbalancing:DescribeLoadBalancerAttributes",),
    LISTENERS: ("elasticloadbalancing:DescribeListeners",),
    LB_WEB_ACLS: ("wafv2:GetWebACLForResource",),
})
def collect_elbv2(ctx: CollectContext) -> Elbv2Section:
    elb = ctx.client("elbv2")
    listed = ctx.paginate(LOAD_BALANCERS, elb, "describe_load_balancers", "LoadBalancers")

    def detail(lb: dict[str, Any]) -> LoadBalancer:
        arn = lb["LoadBalancerArn"]
        attrs = ctx.call(LB_ATTRIBUTES, elb, "describe_load_balancer_attributes", LoadBalancerArn=arn,
                         resource_id=arn)
        listeners = ctx.paginate(LISTENERS, elb, "describe_listeners", "Listeners", LoadBalancerArn=arn,
                                 resource_id=arn)
        record = LoadBalancer(
            arn=arn, id=lb.get("LoadBalancerName", ""), name=lb.get("LoadBalancerName", ""), region=ctx.region,
            account_id=arn.split(":")[4], type=lb.get("Type", ""), scheme=lb.get("Scheme", ""),
            dns_name=lb.get("DNSName", ""),
            access_logs=None if attrs is None else _attributes(attrs.get("Attributes") or []),
            listeners=None if listeners is None else sorted((_listener(x) for x in listeners),
                                                            key=lambda x: (x.port or 0, x.arn)))
        if not record.public_alb:
            return record
        waf = ctx.call(LB_WEB_ACLS, ctx.client("wafv2"), "get_web_acl_for_resource", ResourceArn=arn,
                       resource_id=arn)
        acl = None if waf is None else (waf.get("WebACL") or {}).get("ARN", "")
        return record.model_copy(update={"web_acl_read": waf is not None, "web_acl_arn": acl})

    return Elbv2Section(load_balancers=sorted(ctx.map(detail, listed or []), key=lambda lb: lb.arn))
