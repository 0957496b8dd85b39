from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from auditor.collectors import load_collectors
from auditor.collectors.cloudfront import DISTRIBUTION_LOGGING, DISTRIBUTIONS, _origin
from auditor.collectors.shield import PROTECTIONS, SUBSCRIPTION
from auditor.config import AuditConfig
from auditor.guard import iam_action
from auditor.inventory import Inventory
from auditor.runner import collect, select_checks
from tests.conftest import ACCOUNT, deny

WAF_ARN = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/edge/abc"
_FORWARD = {"QueryString": False, "Cookies": {"Forward": "none"}}


def respond_with(session: Any, service_id: str, operation: str, answer: Callable[[dict[str, Any]], Any]) -> None:
    """Short-circuit one operation with a recorded response (botocore skips the request when before-call answers).

    `answer(request_dict)` returns the parsed response, or None to let the call through to moto.
    """
    def handler(params: dict[str, Any], **_: Any) -> Any:
        parsed = answer(params)
        if parsed is None:
            return None
        return AWSResponse("https://recorded.invalid", 200, {}, None), parsed

    session.boto._session.register(f"before-call.{service_id}.{operation}", handler)
    session._clients.clear()


def request_names(params: dict[str, Any], name: str) -> bool:
    """Whether a serialized request addresses `name` (an S3 bucket in the host or path)."""
    return name in f"{params.get('url', '')} {params.get('url_path', '')}"


def distribution(ref: str, *, policy: str = "redirect-to-https", logging: bool = True, waf: str = "",
                 origins: list[dict] | None = None, behaviors: list[dict] | None = None) -> dict:
    """A DistributionConfig: one custom origin unless `origins` is given; extra cache behaviours optional."""
    origins = origins or [{"Id": "app", "DomainName": "app.example.com", "CustomOriginConfig": {
        "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]
    cfg: dict[str, Any] = {
        "CallerReference": ref, "Comment": ref, "Enabled": True,
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": {"TargetOriginId": origins[0]["Id"], "ViewerProtocolPolicy": policy,
                                 "ForwardedValues": _FORWARD, "MinTTL": 0},
        "Logging": {"Enabled": logging, "IncludeCookies": False, "Bucket": "logs.s3.amazonaws.com" if logging else "",
                    "Prefix": f"{ref}/" if logging else ""}}
    if behaviors:
        cfg["CacheBehaviors"] = {"Quantity": len(behaviors), "Items": [
            {"ForwardedValues": _FORWARD, "MinTTL": 0, "TargetOriginId": origins[0]["Id"], **b} for b in behaviors]}
    if waf:
        cfg["WebACLId"] = waf
    return cfg


def create(cfg: dict) -> str:
    return boto3.client("cloudfront", region_name="us-east-1").create_distribution(
        DistributionConfig=cfg)["Distribution"]["Id"]


def _collect(session) -> Inventory:
    return collect(session, select_checks(["edge.*"]), ["us-east-1"], AuditConfig(workers=4))


def test_declared_actions_are_what_the_guard_names():
    cf, shield = load_collectors().get("cloudfront"), load_collectors().get("shield")
    assert cf.datasets == {DISTRIBUTIONS: (iam_action("cloudfront", "ListDistributions"),),
                           DISTRIBUTION_LOGGING: (iam_action("cloudfront", "GetDistributionConfig"),)}
    assert shield.datasets == {SUBSCRIPTION: ("shield:DescribeSubscription",),
                               PROTECTIONS: ("shield:ListProtections",)}
    assert not cf.regional and not shield.regional


def test_distributions_from_the_list_plus_one_config_read_each(session):
    good = create(distribution("good", waf=WAF_ARN, behaviors=[{"PathPattern": "/api/*",
                                                                "ViewerProtocolPolicy": "allow-all"}]))
    bad = create(distribution("bad", policy="allow-all", logging=False))
    inv = _collect(session)
    by_id = {d.id: d for d in inv.cloudfront.distributions}
    assert [d.id for d in inv.cloudfront.distributions] == sorted([good, bad])
    g = by_id[good]
    assert g.region == "global" and g.arn == f"arn:aws:cloudfront::{ACCOUNT}:distribution/{good}"
    assert [(b.path, b.viewer_protocol_policy) for b in g.behaviors] == [
        ("(default)", "redirect-to-https"), ("/api/*", "allow-all")]
    assert g.web_acl_id == WAF_ARN and g.logging.enabled and g.logging.prefix == "good/"
    assert by_id[bad].logging.enabled is False and by_id[bad].web_acl_id == ""
    assert inv.api_calls["cloudfront:us-east-1:GetDistributionConfig"] == 2
    assert inv.api_calls["cloudfront:us-east-1:ListDistributions"] == 1
    assert inv.gaps == []
    assert Inventory.model_validate(inv.model_dump(mode="json")).cloudfront == inv.cloudfront


def test_config_denial_taints_only_that_distribution(session):
    dist = create(distribution("one"))
    deny(session, "cloudfront.GetDistributionConfig")
    inv = _collect(session)
    [d] = inv.cloudfront.distributions
    assert d.logging is None and d.id == dist
    [gap] = [g for g in inv.gaps if g.dataset == DISTRIBUTION_LOGGING]
    assert gap.resource_id == d.arn and gap.iam_action == "cloudfront:GetDistributionConfig"


def test_list_pages_are_followed(session):
    arn = "arn:aws:cloudfront::1:distribution/"
    pages = {"": {"IsTruncated": True, "NextMarker": "m2", "Items": [{"Id": "E2", "ARN": arn + "E2"}]},
             "m2": {"IsTruncated": False, "Items": [{"Id": "E1", "ARN": arn + "E1"}]}}
    seen = []

    def answer(params):
        marker = params.get("query_string", {}).get("Marker", "")
        seen.append(marker)
        return {"DistributionList": pages[marker]}

    respond_with(session, "cloudfront", "ListDistributions", answer)
    respond_with(session, "cloudfront", "GetDistributionConfig", lambda p: {"DistributionConfig": {}})
    inv = _collect(session)
    assert seen == ["", "m2"] and [d.id for d in inv.cloudfront.distributions] == ["E1", "E2"]
    assert all(d.logging is not None and not d.logging.enabled for d in inv.cloudfront.distributions)


@pytest.mark.parametrize(("domain", "bucket", "rest", "website"), [
    ("assets.s3.amazonaws.com", "assets", True, False),
    ("my.assets.s3.eu-west-1.amazonaws.com", "my.assets", True, False),
    ("assets.s3-eu-west-1.amazonaws.com", "assets", True, False),
    ("assets.s3.dualstack.eu-west-1.amazonaws.com", "assets", True, False),
    ("assets.s3-website-us-east-1.amazonaws.com", "assets", False, True),
    ("assets.s3-website.eu-west-1.amazonaws.com", "assets", False, True),
    ("app.example.com", "", False, False),
    ("my-lb-123.us-east-1.elb.amazonaws.com", "", False, False),
])
def test_s3_origin_recognised_by_domain(domain, bucket, rest, website):
    o = _origin({"Id": "o", "DomainName": domain})
    assert (o.bucket, o.s3_rest, o.s3_website) == (bucket, rest, website)


def test_s3_origin_config_and_oac_are_read_when_present():
    o = _origin({"Id": "o", "DomainName": "x.example.com", "OriginAccessControlId": "E2OAC",
                 "S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E1"}})
    assert o.s3_rest and o.origin_access_control_id == "E2OAC"
    assert o.origin_access_identity == "origin-access-identity/cloudfront/E1"


def test_shield_subscription_and_protections(session):
    inv = _collect(session)
    assert inv.shield.subscription.subscribed is False and inv.shield.protections == []
    shield = boto3.client("shield", region_name="us-east-1")
    shield.create_subscription()
    shield.create_protection(Name="web", ResourceArn=f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1")
    inv = _collect(session)
    assert inv.shield.subscription.subscribed and inv.shield.subscription.end is not None
    assert [p.resource_arn for p in inv.shield.protections] == [f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"]
    assert inv.gaps == []


def test_shield_not_found_on_protections_is_data(session):
    def missing(params):
        from botocore.exceptions import ClientError
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "none"}}, "ListProtections")
    respond_with(session, "shield", "ListProtections", missing)
    inv = _collect(session)
    assert inv.shield.protections == [] and inv.gaps == []
