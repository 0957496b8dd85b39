from __future__ import annotations

import json

import boto3
import pytest

from auditor.models import Status
from tests.collectors.test_cloudfront import WAF_ARN, create, distribution, respond_with
from tests.conftest import ACCOUNT, deny, only, scan, statuses

EDGE = ["edge.access-logging", "edge.https-required", "edge.waf-protection"]
S3_ORIGIN = {"Id": "assets", "DomainName": "acme-assets.s3.amazonaws.com",
             "S3OriginConfig": {"OriginAccessIdentity": ""}}


def _by_id(result, check_id):
    return {f.resource.id: f for f in only(result, check_id)}


# --- edge.access-logging / edge.https-required / edge.waf-protection ----------------------------------------

def test_cloudfront_good_and_bad_distributions(session):
    good = create(distribution("good", waf=WAF_ARN))
    bad = create(distribution("bad", policy="allow-all", logging=False,
                              behaviors=[{"PathPattern": "/img/*", "ViewerProtocolPolicy": "allow-all"},
                                         {"PathPattern": "/api/*", "ViewerProtocolPolicy": "https-only"}]))
    result = scan(session, EDGE)
    logs, https, waf = (_by_id(result, c) for c in EDGE)
    assert {k: f.status for k, f in logs.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert {k: f.status for k, f in https.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert {k: f.status for k, f in waf.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert https[bad].evidence["plain_http"] == ["(default)", "/img/*"]
    assert "(default), /img/*" in https[bad].message
    assert waf[good].evidence["waf"] == "WAFv2" and waf[bad].evidence["web_acl_id"] is None
    assert logs[good].evidence["bucket"] == "logs.s3.amazonaws.com"
    assert all(f.resource.type == "AWS::CloudFront::Distribution" and f.region == "global"
               for f in result.findings)
    assert all(f.evidence["front_end"] == "cloudfront" for f in result.findings)


def test_waf_classic_id_counts(session):
    dist = create(distribution("classic", waf="d3f2a1b0-1111-2222-3333-444455556666"))
    [f] = only(scan(session, ["edge.waf-protection"]), "edge.waf-protection")
    assert f.status is Status.PASS and f.resource.id == dist and f.evidence["waf"] == "WAF Classic"


def test_edge_checks_not_applicable_without_distributions(session):
    assert {f.status for f in scan(session, EDGE).findings} == {Status.NOT_APPLICABLE}


def test_edge_checks_error_when_distributions_unlistable(session):
    create(distribution("good", waf=WAF_ARN))
    deny(session, "cloudfront.ListDistributions")
    for f in scan(session, EDGE).findings:
        assert f.status is Status.ERROR and f.gap.iam_action == "cloudfront:ListDistributions"


def test_access_logging_error_only_where_config_unreadable(session):
    create(distribution("good", waf=WAF_ARN))
    deny(session, "cloudfront.GetDistributionConfig")
    result = scan(session, EDGE)
    [f] = only(result, "edge.access-logging")
    assert f.status is Status.ERROR and f.gap.iam_action == "cloudfront:GetDistributionConfig"
    # HTTPS and WAF come from the list, so they are still judged
    assert statuses(result, "edge.https-required") == statuses(result, "edge.waf-protection") == [Status.PASS]


# --- edge.shield-advanced -------------------------------------------------------------------------------------

def test_shield_without_subscription_passes_with_a_warning(session):
    [f] = only(scan(session, ["edge.shield-advanced"]), "edge.shield-advanced")
    assert f.status is Status.PASS and "no Shield Advanced subscription" in f.message
    assert f.evidence["subscribed"] is False and f.evidence["warning"]
    assert f.resource.type == "AWS::::AccountSetting"


def test_shield_subscription_reports_protected_resources(session):
    shield = boto3.client("shield", region_name="us-east-1")
    shield.create_subscription()
    arn = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"
    shield.create_protection(Name="web", ResourceArn=arn)
    [f] = only(scan(session, ["edge.shield-advanced"]), "edge.shield-advanced")
    assert f.status is Status.PASS and "protects 1 resource" in f.message
    assert f.evidence["protected_resources"] == [arn] and "warning" not in f.evidence


@pytest.mark.parametrize("operation", ["shield.DescribeSubscription", "shield.ListProtections"])
def test_shield_error_when_unreadable(session, operation):
    deny(session, operation)
    [f] = only(scan(session, ["edge.shield-advanced"]), "edge.shield-advanced")
    assert f.status is Status.ERROR and f.gap.iam_action == "shield:" + operation.split(".")[1]


# --- s3.public-content-via-cloudfront -------------------------------------------------------------------------

def test_s3_origin_without_access_control_is_a_warning(session):
    website = {"Id": "site", "DomainName": "acme-site.s3-website-us-east-1.amazonaws.com",
               "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}
    app = {"Id": "app", "DomainName": "app.example.com",
           "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
    dist = create(distribution("mixed", origins=[S3_ORIGIN, website, app]))
    found = only(scan(session, ["s3.public-content-via-cloudfront"]), "s3.public-content-via-cloudfront")
    by_origin = {f.subkey: f for f in found}
    assert set(by_origin) == {"assets", "site"}  # the custom origin is out of scope
    assert all(f.status is Status.PASS and f.resource.id == dist for f in found)
    assert "without origin access control" in by_origin["assets"].evidence["warning"]
    assert "website endpoint" in by_origin["site"].evidence["warning"]
    assert by_origin["assets"].evidence["bucket"] == "acme-assets"


def test_s3_origin_with_access_control_passes_clean(session):
    # moto drops OriginAccessControlId and S3OriginConfig, so the list answer is a recorded one.
    arn = f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOAC"
    origin = {**S3_ORIGIN, "OriginAccessControlId": "E2QWRUHEXAMPLE"}
    respond_with(session, "cloudfront", "ListDistributions", lambda p: {"DistributionList": {
        "IsTruncated": False, "Items": [{"Id": "EOAC", "ARN": arn, "Origins": {"Quantity": 1, "Items": [origin]}}]}})
    [f] = only(scan(session, ["s3.public-content-via-cloudfront"]), "s3.public-content-via-cloudfront")
    assert f.status is Status.PASS and "origin access control" in f.message and "warning" not in f.evidence


def _website_bucket(name: str, public: bool) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_website(Bucket=name, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    if public:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Statement": [{
            "Sid": "Site", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*"}]}))


def test_public_website_bucket_is_a_warning_private_one_passes(session):
    _website_bucket("public-site", public=True)
    _website_bucket("private-site", public=False)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="plain-bucket")
    by_id = _by_id(scan(session, ["s3.public-content-via-cloudfront"]), "s3.public-content-via-cloudfront")
    assert set(by_id) == {"public-site", "private-site"}
    assert by_id["public-site"].status is Status.PASS and "warning" in by_id["public-site"].evidence
    assert by_id["public-site"].evidence["public_statements"] == ["Site"]
    assert by_id["private-site"].status is Status.PASS and "warning" not in by_id["private-site"].evidence


def test_public_content_not_applicable_without_s3_origins_or_websites(session):
    create(distribution("app-only"))
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="plain-bucket")
    assert statuses(scan(session, ["s3.public-content-via-cloudfront"]),
                    "s3.public-content-via-cloudfront") == [Status.NOT_APPLICABLE]


def test_public_content_error_when_website_or_exposure_unreadable(session):
    _website_bucket("public-site", public=True)
    deny(session, "s3.GetBucketAcl")
    [f] = only(scan(session, ["s3.public-content-via-cloudfront"]), "s3.public-content-via-cloudfront")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetBucketAcl"
    deny(session, "s3.GetBucketWebsite")
    [f] = only(scan(session, ["s3.public-content-via-cloudfront"]), "s3.public-content-via-cloudfront")
    assert f.status is Status.ERROR and f.gap.iam_action == "s3:GetBucketWebsite"


def test_public_content_error_when_distributions_unlistable(session):
    create(distribution("assets", origins=[S3_ORIGIN]))
    deny(session, "cloudfront.ListDistributions")
    [f] = only(scan(session, ["s3.public-content-via-cloudfront"]), "s3.public-content-via-cloudfront")
    assert f.status is Status.ERROR and f.gap.iam_action == "cloudfront:ListDistributions"


# --- load balancers and API Gateway stages ----------------------------------------------------------------------

def _subnets() -> list[str]:
    return [s["SubnetId"] for s in boto3.client("ec2", region_name="us-east-1").describe_subnets()["Subnets"]][:2]


def _lb(name: str, *, scheme: str = "internet-facing", kind: str = "application", logs: bool = False,
        listeners: list[dict] | None = None, waf: bool = False) -> str:
    elb = boto3.client("elbv2", region_name="us-east-1")
    arn = elb.create_load_balancer(Name=name, Subnets=_subnets(), Scheme=scheme, Type=kind)["LoadBalancers"][0][
        "LoadBalancerArn"]
    if logs:
        elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": "lb-logs"}])
    for lst in listeners or []:
        elb.create_listener(LoadBalancerArn=arn, **lst)
    if waf:
        waf2 = boto3.client("wafv2", region_name="us-east-1")
        acl = waf2.create_web_acl(Name=f"{name}-acl", Scope="REGIONAL", DefaultAction={"Allow": {}},
                                  VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                                    "MetricName": name})["Summary"]["ARN"]
        waf2.associate_web_acl(WebACLArn=acl, ResourceArn=arn)
    return arn


REDIRECT = {"Protocol": "HTTP", "Port": 80, "DefaultActions": [
    {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]}
FIXED = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}
PLAIN = {"Protocol": "HTTP", "Port": 8080, "DefaultActions": [FIXED]}


def _tls() -> dict:
    cert = boto3.client("acm", region_name="us-east-1").request_certificate(DomainName="shop.example.com")
    return {"Protocol": "HTTPS", "Port": 443, "DefaultActions": [FIXED],
            "Certificates": [{"CertificateArn": cert["CertificateArn"]}]}


def test_load_balancers_logging_https_and_waf(session):
    good = _lb("good", logs=True, listeners=[REDIRECT, _tls()], waf=True)
    bad = _lb("bad", listeners=[PLAIN])
    internal = _lb("internal", scheme="internal", listeners=[PLAIN])  # https / waf: public ALBs only
    nlb = _lb("nlb", kind="network", logs=True)
    result = scan(session, EDGE)
    logs, https, waf = ({f.resource.arn: f for f in only(result, c)} for c in EDGE)
    assert {k: f.status for k, f in logs.items()} == {good: Status.PASS, bad: Status.FAIL, internal: Status.FAIL,
                                                      nlb: Status.PASS}
    assert {k: f.status for k, f in https.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert {k: f.status for k, f in waf.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert https[bad].evidence["plain_http"] == ["HTTP:8080"] and "HTTP:80 (redirects to HTTPS)" in \
        https[good].evidence["listeners"]
    assert logs[good].evidence["bucket"] == "lb-logs"
    assert logs[good].evidence["front_end"] == "application-load-balancer"
    assert waf[good].evidence["web_acl_id"].startswith("arn:aws:wafv2:")
    assert all(f.resource.type == "AWS::ElasticLoadBalancingV2::LoadBalancer" and f.region == "us-east-1"
               for f in result.findings)


@pytest.mark.parametrize(("operation", "check_id"), [
    ("elbv2.DescribeLoadBalancerAttributes", "edge.access-logging"),
    ("elbv2.DescribeListeners", "edge.https-required"),
    ("wafv2.GetWebACLForResource", "edge.waf-protection"),
])
def test_load_balancer_error_only_where_unreadable(session, operation, check_id):
    arn = _lb("web", logs=True, listeners=[REDIRECT], waf=True)
    deny(session, operation)
    result = scan(session, EDGE)
    [f] = only(result, check_id)
    assert f.status is Status.ERROR and f.resource.arn == arn
    assert {f.status for c in EDGE if c != check_id for f in only(result, c)} == {Status.PASS}


def test_load_balancer_listing_denied_taints_cloudfront_too(session):
    create(distribution("good", waf=WAF_ARN))
    _lb("web", logs=True)
    deny(session, "elbv2.DescribeLoadBalancers")
    for f in scan(session, EDGE).findings:
        assert f.status is Status.ERROR  # CloudFront findings are global: any regional gap makes them ERROR


def test_api_stages_access_logging(session):
    ag = boto3.client("apigateway", region_name="us-east-1")
    api = ag.create_rest_api(name="shop")["id"]
    root = ag.get_resources(restApiId=api)["items"][0]["id"]
    ag.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    ag.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    ag.create_deployment(restApiId=api, stageName="prod")
    ag.create_deployment(restApiId=api, stageName="dev")
    ag.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:api"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"}])
    v2 = boto3.client("apigatewayv2", region_name="us-east-1")
    http = v2.create_api(Name="http", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=http, StageName="$default")
    by_id = {f.resource.id: f for f in only(scan(session, ["edge.access-logging"]), "edge.access-logging")}
    assert {k: f.status for k, f in by_id.items()} == {f"{api}/prod": Status.PASS, f"{api}/dev": Status.FAIL,
                                                       f"{http}/$default": Status.FAIL}
    assert by_id[f"{api}/prod"].evidence["front_end"] == "api-gateway-rest"
    assert by_id[f"{http}/$default"].evidence["front_end"] == "api-gateway-v2"
    deny(session, "apigatewayv2.GetStages")
    by_id = {f.resource.id: f.status for f in only(scan(session, ["edge.access-logging"]), "edge.access-logging")}
    assert by_id[f"{api}/prod"] is Status.PASS and Status.ERROR in by_id.values()
