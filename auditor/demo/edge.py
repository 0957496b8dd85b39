"""Demo edge: the web app's distribution done right, and an asset CDN set up in a hurry.

acme-web: HTTPS redirect, standard logging, a WAFv2 web ACL. The assets CDN serves the public website bucket
straight from its S3 endpoint over plain HTTP, without logging or WAF. No Shield Advanced subscription.
"""
from __future__ import annotations

from typing import Any

from auditor.demo import DemoContext, demo_step
from auditor.demo.data import ACCESS_LOGS, PUBLIC_ASSETS

_FORWARD = {"QueryString": False, "Cookies": {"Forward": "none"}}


def _config(ref: str, origin: dict[str, Any], policy: str, log_prefix: str = "", web_acl: str = "") -> dict[str, Any]:
    return {"CallerReference": ref, "Comment": ref, "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {"TargetOriginId": origin["Id"], "ViewerProtocolPolicy": policy,
                                     "ForwardedValues": _FORWARD, "MinTTL": 0},
            "Logging": {"Enabled": bool(log_prefix), "IncludeCookies": False,
                        "Bucket": f"{ACCESS_LOGS}.s3.amazonaws.com" if log_prefix else "", "Prefix": log_prefix},
            **({"WebACLId": web_acl} if web_acl else {})}


@demo_step("edge")
def edge(ctx: DemoContext) -> None:
    acl = ctx.client("wafv2", "us-east-1").create_web_acl(
        Name="acme-edge", Scope="CLOUDFRONT", DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                          "MetricName": "acme-edge"})["Summary"]["ARN"]
    cf = ctx.client("cloudfront", "us-east-1")
    app = {"Id": "app", "DomainName": "app.acme.example", "CustomOriginConfig": {
        "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
    web = cf.create_distribution(DistributionConfig=_config(
        "acme-web", app, "redirect-to-https", log_prefix="cloudfront/acme-web/", web_acl=acl))["Distribution"]
    assets = {"Id": "assets", "DomainName": f"{PUBLIC_ASSETS}.s3.amazonaws.com",
              "S3OriginConfig": {"OriginAccessIdentity": ""}}
    cdn = cf.create_distribution(DistributionConfig=_config("acme-assets-cdn", assets, "allow-all"))["Distribution"]
    ctx.notes.append(f"edge: distribution {web['Id']} (acme-web) HTTPS + logging + WAF; {cdn['Id']} "
                     f"(acme-assets-cdn) plain HTTP, no logging, no WAF, S3 origin {PUBLIC_ASSETS} without OAC; "
                     "no Shield Advanced")
