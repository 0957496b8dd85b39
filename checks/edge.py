"""Edge: access logging, HTTPS and WAF on the web front ends (CloudFront, load balancers, API Gateway stages),
S3 origin access; Shield Advanced.

Every finding says which front end it judged ("front_end" in the evidence). CloudFront is global, so a gap in
any region's load-balancer or API listing also turns its findings to ERROR (the runner's rule for global findings).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.apigateway import HTTP_APIS, HTTP_STAGES, REST_APIS, REST_STAGES
from auditor.collectors.cloudfront import DISTRIBUTION_LOGGING, DISTRIBUTIONS, Distribution
from auditor.collectors.elbv2 import LB_ATTRIBUTES, LB_WEB_ACLS, LISTENERS, LOAD_BALANCERS, LoadBalancer
from auditor.collectors.s3 import BUCKET_ACL, BUCKET_POLICIES, BUCKET_WEBSITE, BUCKETS
from auditor.collectors.shield import PROTECTIONS, SUBSCRIPTION
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy_public import bucket_exposure
from auditor.registry import check
from checks.s3 import unreadable

FRONT_END = "cloudfront"
SECURE_POLICIES = ("redirect-to-https", "https-only")


def _base(d: Distribution) -> dict[str, Any]:
    return {"front_end": FRONT_END, "domain_name": d.domain_name, "aliases": d.aliases, "enabled": d.enabled}


def _lb(lb: LoadBalancer) -> dict[str, Any]:
    return {"front_end": f"{lb.type}-load-balancer", "scheme": lb.scheme, "dns_name": lb.dns_name}


@check("edge.access-logging", needs=(DISTRIBUTIONS, DISTRIBUTION_LOGGING, LOAD_BALANCERS, LB_ATTRIBUTES, REST_APIS,
                                     REST_STAGES, HTTP_APIS, HTTP_STAGES))
def access_logging(inv: Inventory) -> Iterator[Finding]:
    """Access logs of the web front end are the only record of who requested what (CIS 4.10)."""
    yield from _lb_access_logging(inv)
    yield from _stage_access_logging(inv)
    for d in inv.cloudfront.distributions:
        if d.logging is None:
            yield Finding.with_status(Status.ERROR, d, f"distribution {d.id}: logging configuration unreadable")
        elif d.logging.enabled:
            yield Finding.passed(d, f"distribution {d.id} logs requests to {d.logging.bucket}/{d.logging.prefix}",
                                 evidence={**_base(d), "logging": True, "bucket": d.logging.bucket,
                                           "prefix": d.logging.prefix})
        else:
            yield Finding.failed(d, f"distribution {d.id} ({d.domain_name}) has standard logging off",
                                 evidence={**_base(d), "logging": False,
                                           "note": "CloudWatch-delivered (v2) logs are not inspected"})


def _lb_access_logging(inv: Inventory) -> Iterator[Finding]:
    for lb in inv.elbv2.load_balancers:
        if lb.type not in ("application", "network"):
            continue
        name = f"{lb.type} load balancer {lb.name}"
        if lb.access_logs is None:
            yield Finding.with_status(Status.ERROR, lb, f"{name}: attributes unreadable")
        elif lb.access_logs.enabled:
            yield Finding.passed(lb, f"{name} writes access logs to s3://{lb.access_logs.bucket}/"
                                 f"{lb.access_logs.prefix}", evidence={**_lb(lb), "logging": True,
                                                                       "bucket": lb.access_logs.bucket,
                                                                       "prefix": lb.access_logs.prefix})
        else:
            yield Finding.failed(lb, f"{name} has access logging off", evidence={**_lb(lb), "logging": False})


def _stage_access_logging(inv: Inventory) -> Iterator[Finding]:
    stages = [("api-gateway-rest", f"REST API {s.api_name} stage {s.stage_name}", s, s.access_log_destination)
              for s in inv.apigateway.stages]
    stages += [("api-gateway-v2", f"{s.protocol} API {s.api_name} stage {s.stage_name}", s, s.access_log_destination)
               for s in inv.apigatewayv2.stages]
    for front, name, st, dest in stages:
        evidence = {"front_end": front, "api_id": st.api_id, "logging": bool(dest), "destination": dest or None}
        yield Finding.of(st, passed=bool(dest), evidence=evidence,
                         message=f"{name} writes access logs to {dest}" if dest else f"{name} has no access logging")


@check("edge.https-required", needs=(DISTRIBUTIONS, LOAD_BALANCERS, LISTENERS))
def https_required(inv: Inventory) -> Iterator[Finding]:
    """A cache behaviour with ViewerProtocolPolicy allow-all, or a public ALB HTTP listener that does not
    redirect to HTTPS, serves content over plain HTTP. (API Gateway endpoints are HTTPS-only.)"""
    yield from _alb_https(inv)
    for d in inv.cloudfront.distributions:
        policies = {b.path: b.viewer_protocol_policy for b in d.behaviors}
        plain = [path for path, p in policies.items() if p not in SECURE_POLICIES]
        evidence = {**_base(d), "viewer_protocol_policies": policies, "plain_http": plain}
        if plain:
            yield Finding.failed(d, f"distribution {d.id} allows plain HTTP on cache behaviour(s) "
                                 f"{', '.join(plain)}", evidence=evidence)
        else:
            yield Finding.passed(d, f"distribution {d.id} requires HTTPS on every cache behaviour", evidence=evidence)


def _alb_https(inv: Inventory) -> Iterator[Finding]:
    for lb in inv.elbv2.load_balancers:
        if not lb.public_alb:
            continue
        name = f"internet-facing ALB {lb.name}"
        if lb.listeners is None:
            yield Finding.with_status(Status.ERROR, lb, f"{name}: listeners unreadable")
            continue
        plain = [f"{x.protocol}:{x.port}" for x in lb.listeners if x.protocol == "HTTP" and not x.redirects_to_https]
        evidence = {**_lb(lb), "listeners": [f"{x.protocol}:{x.port}" + (" (redirects to HTTPS)"
                                                                          if x.redirects_to_https else "")
                                             for x in lb.listeners], "plain_http": plain}
        yield Finding.of(lb, passed=not plain, evidence=evidence,
                         message=f"{name} serves plain HTTP on listener(s) {', '.join(plain)} without redirecting "
                         "to HTTPS" if plain else f"{name} serves only HTTPS (HTTP listeners redirect)")


@check("edge.waf-protection", needs=(DISTRIBUTIONS, LOAD_BALANCERS, LB_WEB_ACLS))
def waf_protection(inv: Inventory) -> Iterator[Finding]:
    """A web ACL filters common exploits and floods before they reach the origin."""
    for lb in inv.elbv2.load_balancers:
        if not lb.public_alb:
            continue
        name = f"internet-facing ALB {lb.name}"
        if not lb.web_acl_read:
            yield Finding.with_status(Status.ERROR, lb, f"{name}: web ACL association unreadable")
        elif lb.web_acl_arn:
            yield Finding.passed(lb, f"{name} is protected by AWS WAF web ACL {lb.web_acl_arn}",
                                 evidence={**_lb(lb), "web_acl_id": lb.web_acl_arn, "waf": "WAFv2"})
        else:
            yield Finding.failed(lb, f"{name} has no AWS WAF web ACL",
                                 evidence={**_lb(lb), "web_acl_id": None, "waf": None})
    for d in inv.cloudfront.distributions:
        kind = "" if not d.web_acl_id else "WAFv2" if d.web_acl_id.startswith("arn:") else "WAF Classic"
        evidence = {**_base(d), "web_acl_id": d.web_acl_id or None, "waf": kind or None}
        if d.web_acl_id:
            yield Finding.passed(d, f"distribution {d.id} is protected by {kind} web ACL {d.web_acl_id}",
                                 evidence=evidence)
        else:
            yield Finding.failed(d, f"distribution {d.id} ({d.domain_name}) has no AWS WAF web ACL",
                                 evidence=evidence)


@check("edge.shield-advanced", needs=(SUBSCRIPTION, PROTECTIONS))
def shield_advanced(inv: Inventory) -> Iterator[Finding]:
    """Informational: Shield Advanced adds DDoS response and cost protection for the endpoints it protects."""
    ref = inv.setting("shield", "advanced-subscription")
    sub, prots = inv.shield.subscription, inv.shield.protections
    if sub is None or prots is None:
        yield Finding.with_status(Status.ERROR, ref, "Shield Advanced subscription or protections unreadable")
        return
    evidence: dict[str, Any] = {"subscribed": sub.subscribed,
                                "protected_resources": [p.resource_arn for p in prots]}
    if sub.subscribed:
        evidence.update(start=sub.start.isoformat() if sub.start else None,
                        end=sub.end.isoformat() if sub.end else None, auto_renew=sub.auto_renew)
        yield Finding.passed(ref, f"Shield Advanced is subscribed and protects {len(prots)} resource(s)",
                             evidence=evidence)
    else:
        warning = "no Shield Advanced subscription: public endpoints rely on Shield Standard"
        yield Finding.passed(ref, f"{warning} (informational)", evidence={**evidence, "warning": warning})


@check("s3.public-content-via-cloudfront", needs=(DISTRIBUTIONS, BUCKETS, BUCKET_WEBSITE))
def public_content_via_cloudfront(inv: Inventory) -> Iterator[Finding]:
    """Serve public content through CloudFront with origin access control, so the bucket itself stays private.

    Informational: the checklist's WARN is a PASS whose message and evidence carry the warning.
    """
    for d in inv.cloudfront.distributions:
        for o in d.origins:
            if not (o.s3_rest or o.s3_website):
                continue
            evidence = {"origin_id": o.id, "domain": o.domain, "bucket": o.bucket or None,
                        "origin_access_control_id": o.origin_access_control_id or None,
                        "origin_access_identity": o.origin_access_identity or None}
            if o.s3_website:
                warning = "S3 website endpoint origin: the bucket must be public (no OAC/OAI possible)"
            elif not (o.origin_access_control_id or o.origin_access_identity):
                warning = "S3 origin without origin access control or identity: the bucket must be public to serve"
            else:
                via = "origin access control" if o.origin_access_control_id else "origin access identity"
                yield Finding.passed(d, f"distribution {d.id} reads origin {o.id} through {via}",
                                     evidence=evidence, subkey=o.id)
                continue
            yield Finding.passed(d, f"distribution {d.id} origin {o.id}: {warning}",
                                 evidence={**evidence, "warning": warning}, subkey=o.id)
    account = inv.s3.account_public_access_block
    for bucket in inv.s3.buckets:
        if bucket.website is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: website configuration unreadable")
            continue
        if not bucket.website:
            continue
        exp = bucket_exposure(bucket, account)
        if exp is None or exp.public is None:
            yield unreadable(inv, bucket, f"bucket {bucket.id} hosts a website; whether it is public could not be "
                             "read", BUCKET_ACL, BUCKET_POLICIES)
        elif exp.public:
            warning = "public S3 static website: serve it through CloudFront with origin access control instead"
            yield Finding.passed(bucket, f"bucket {bucket.id}: {warning}",
                                 evidence={**exp.evidence(), "website": True, "warning": warning})
        else:
            yield Finding.passed(bucket, f"bucket {bucket.id} has website hosting configured but is not public",
                                 evidence={**exp.evidence(), "website": True})
