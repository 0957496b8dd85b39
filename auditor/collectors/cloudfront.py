"""CloudFront distributions: origins, cache behaviours and web ACL from ListDistributions; logging per distribution.

CloudFront is global (its API lives in us-east-1). The list summary already carries origins, viewer protocol
policies and WebACLId, so only the Logging block, which the summary lacks, costs a GetDistributionConfig call.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

DISTRIBUTIONS = "cloudfront.distributions"
DISTRIBUTION_LOGGING = "cloudfront.distribution_logging"
API_REGION = "us-east-1"

# bucket.s3.amazonaws.com, bucket.s3.eu-west-1.amazonaws.com, bucket.s3-eu-west-1.amazonaws.com,
# bucket.s3.dualstack.eu-west-1.amazonaws.com; website: bucket.s3-website-eu-west-1 / .s3-website.eu-west-1
_S3_DOMAIN = re.compile(r"^(?P<bucket>.+?)\.s3(?P<website>-website)?(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")


class Origin(Frozen):
    id: str
    domain: str
    bucket: str = ""  # the S3 bucket behind an S3 REST or website endpoint, else ""
    s3_website: bool = False  # an S3 static-website endpoint (cannot use OAC/OAI: the bucket must be public)
    s3_rest: bool = False  # an S3 REST endpoint or an S3OriginConfig origin
    origin_access_identity: str = ""
    origin_access_control_id: str = ""


class CacheBehavior(Frozen):
    path: str  # "(default)" or the path pattern
    target_origin: str
    viewer_protocol_policy: str


class DistributionLogging(Frozen):
    enabled: bool = False
    bucket: str = ""
    prefix: str = ""


class Distribution(Resource):
    resource_type: ClassVar[str] = "AWS::CloudFront::Distribution"
    domain_name: str = ""
    aliases: list[str] = []
    enabled: bool = True
    origins: list[Origin] = []
    behaviors: list[CacheBehavior] = []
    web_acl_id: str = ""  # WAFv2 web ACL ARN or WAF Classic id; "" = none
    logging: DistributionLogging | None = None  # None: unreadable (see gaps)


class CloudFrontSection(Section):
    distributions: list[Distribution] = []


@collector("cloudfront", section=CloudFrontSection, regional=False, datasets={
    DISTRIBUTIONS: ("cloudfront:ListDistributions",),
    DISTRIBUTION_LOGGING: ("cloudfront:GetDistributionConfig",),
})
def collect_cloudfront(ctx: CollectContext) -> CloudFrontSection:
    cf = ctx.client("cloudfront", API_REGION)
    summaries: list[dict[str, Any]] = []
    marker = ""
    while True:
        resp = ctx.call(DISTRIBUTIONS, cf, "list_distributions", **({"Marker": marker} if marker else {}))
        if resp is None:
            return CloudFrontSection()
        page = resp.get("DistributionList", {})
        summaries.extend(page.get("Items") or [])
        marker = page.get("NextMarker") or ""
        if not page.get("IsTruncated") or not marker:
            break

    def detail(d: dict[str, Any]) -> Distribution:
        resp = ctx.call(DISTRIBUTION_LOGGING, cf, "get_distribution_config", Id=d["Id"], resource_id=d["ARN"])
        log = None if resp is None else resp.get("DistributionConfig", {}).get("Logging") or {}
        return Distribution(
            arn=d["ARN"], id=d["Id"], account_id=ctx.account_id, domain_name=d.get("DomainName", ""),
            aliases=sorted(d.get("Aliases", {}).get("Items") or []), enabled=bool(d.get("Enabled", True)),
            origins=[_origin(o) for o in d.get("Origins", {}).get("Items") or []],
            behaviors=_behaviors(d), web_acl_id=d.get("WebACLId") or "",
            logging=None if log is None else DistributionLogging(
                enabled=bool(log.get("Enabled")), bucket=log.get("Bucket", ""), prefix=log.get("Prefix", "")))

    return CloudFrontSection(distributions=ctx.map(detail, sorted(summaries, key=lambda d: d["Id"])))


def _origin(o: dict[str, Any]) -> Origin:
    m = _S3_DOMAIN.match(o.get("DomainName", ""))
    website = bool(m and m.group("website"))
    return Origin(id=o["Id"], domain=o.get("DomainName", ""), bucket=m.group("bucket") if m else "",
                  s3_website=website, s3_rest=("S3OriginConfig" in o) or bool(m and not website),
                  origin_access_identity=(o.get("S3OriginConfig") or {}).get("OriginAccessIdentity", ""),
                  origin_access_control_id=o.get("OriginAccessControlId") or "")


def _behaviors(d: dict[str, Any]) -> list[CacheBehavior]:
    default = d.get("DefaultCacheBehavior") or {}
    out = [CacheBehavior(path="(default)", target_origin=default.get("TargetOriginId", ""),
                         viewer_protocol_policy=default.get("ViewerProtocolPolicy", ""))]
    for b in d.get("CacheBehaviors", {}).get("Items") or []:
        out.append(CacheBehavior(path=b.get("PathPattern", ""), target_origin=b.get("TargetOriginId", ""),
                                 viewer_protocol_policy=b.get("ViewerProtocolPolicy", "")))
    return out
