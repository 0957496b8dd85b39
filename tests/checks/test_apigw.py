from __future__ import annotations

import json

import boto3
import pytest

from auditor.collectors.apigateway import policy_text
from auditor.config import AuditConfig
from auditor.models import Status
from checks.apigw import NETWORK_KEYS, VPC_KEYS, source_restriction
from tests.collectors.test_cloudfront import create, distribution, respond_with
from tests.conftest import ACCOUNT, deny, only, scan, statuses

R = "us-east-1"
VIS = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"}
RATE_RULE = {"Name": "rate", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": VIS,
             "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}}}
VPCE_FENCE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
    {"Sid": "OnlyFromVpce", "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
     "Resource": "execute-api:/*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0abc"}}}]}
OPEN = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]}


def _rest_api(name: str, methods: dict[str, dict], *, endpoint: str = "REGIONAL", policy: dict | None = None,
              tags: dict | None = None, stage: str = "prod", settings: list[dict] | None = None) -> str:
    """A REST API with /orders methods {verb: put_method kwargs (+ 'integration': type)} deployed to `stage`."""
    ag = boto3.client("apigateway", region_name=R)
    api = ag.create_rest_api(name=name, endpointConfiguration={"types": [endpoint]}, tags=tags or {},
                             **({"policy": json.dumps(policy)} if policy else {}))["id"]
    root = ag.get_resources(restApiId=api)["items"][0]["id"]
    res = ag.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    for verb, kw in methods.items():
        kw = dict(kw)
        integration = kw.pop("integration", "MOCK")
        ag.put_method(restApiId=api, resourceId=res, httpMethod=verb, **{"authorizationType": "NONE", **kw})
        ag.put_integration(restApiId=api, resourceId=res, httpMethod=verb, type=integration,
                           integrationHttpMethod=verb, uri="https://backend.example.com/orders")
    ag.create_deployment(restApiId=api, stageName=stage)
    if settings:
        ag.update_stage(restApiId=api, stageName=stage, patchOperations=settings)
    return api


def _web_acl(rules: list[dict]) -> str:
    return boto3.client("wafv2", region_name=R).create_web_acl(
        Name=f"acl{len(rules)}", Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VIS,
        Rules=rules)["Summary"]["ARN"]


def _attach(acl: str, api: str, stage: str = "prod") -> None:
    boto3.client("wafv2", region_name=R).associate_web_acl(
        WebACLArn=acl, ResourceArn=f"arn:aws:apigateway:{R}::/restapis/{api}/stages/{stage}")


def _http_api(name: str, routes: dict[str, str], stage: dict | None = None, protocol: str = "HTTP") -> str:
    v2 = boto3.client("apigatewayv2", region_name=R)
    api = v2.create_api(Name=name, ProtocolType=protocol, **(
        {"RouteSelectionExpression": "$request.body.action"} if protocol == "WEBSOCKET" else {}))["ApiId"]
    for key, auth in routes.items():
        v2.create_route(ApiId=api, RouteKey=key, AuthorizationType=auth)
    v2.create_stage(ApiId=api, StageName="live", **(stage or {}))
    return api


# --- unit: policy text and source restriction -----------------------------------------------------------------

def test_policy_text_unescapes_the_rest_api_policy():
    escaped = json.dumps(OPEN).replace('"', '\\"')
    assert json.loads(policy_text(escaped)) == OPEN and policy_text(None) is None


@pytest.mark.parametrize(("doc", "keys", "expected"), [
    (VPCE_FENCE, VPC_KEYS, ["OnlyFromVpce"]),
    (OPEN, VPC_KEYS, []),
    ({"Statement": [{**OPEN["Statement"][0], "Sid": "Vpc", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}]},
     VPC_KEYS, ["Vpc"]),
    ({"Statement": [{**OPEN["Statement"][0], "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]},
     VPC_KEYS, []),
    ({"Statement": [{**OPEN["Statement"][0], "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]},
     NETWORK_KEYS, ["#0"]),
    ({"Statement": [{**OPEN["Statement"][0], "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}]},
     NETWORK_KEYS, []),
])
def test_source_restriction(doc, keys, expected):
    assert source_restriction(json.dumps(doc), keys) == expected


# --- apigw.authorization-required ------------------------------------------------------------------------------

def test_authorization_per_method_and_route(session):
    shop = _rest_api("shop", {"GET": {}, "POST": {"authorizationType": "AWS_IAM"}, "OPTIONS": {},
                              "DELETE": {"apiKeyRequired": True}})
    fenced = _rest_api("internal", {"GET": {}}, endpoint="PRIVATE", policy=VPCE_FENCE)
    leaky = _rest_api("leaky-private", {"GET": {}}, endpoint="PRIVATE", policy=OPEN)
    http = _http_api("http", {"GET /open": "NONE", "GET /iam": "AWS_IAM"})
    ws = _http_api("ws", {"$connect": "AWS_IAM", "$default": "NONE"}, protocol="WEBSOCKET")
    found = only(scan(session, ["apigw.authorization-required"]), "apigw.authorization-required")
    got = {(f.resource.id, f.subkey): f.status for f in found}
    assert got == {(shop, "GET /orders"): Status.FAIL, (shop, "POST /orders"): Status.PASS,
                   (shop, "DELETE /orders"): Status.PASS, (fenced, "GET /orders"): Status.PASS,
                   (leaky, "GET /orders"): Status.FAIL, (http, "GET /open"): Status.FAIL,
                   (http, "GET /iam"): Status.PASS, (ws, "$connect"): Status.PASS}
    fail = next(f for f in found if (f.resource.id, f.subkey) == (shop, "GET /orders"))
    assert fail.message == "REST API shop GET /orders requires no authorization"
    assert fail.resource.type == "AWS::ApiGateway::RestApi"


def test_authorization_error_only_for_the_unreadable_api(session):
    _rest_api("shop", {"GET": {}})
    http = _http_api("http", {"GET /open": "NONE"})
    deny(session, "apigateway.GetResources")
    found = only(scan(session, ["apigw.authorization-required"]), "apigw.authorization-required")
    assert {(f.resource.type, f.status) for f in found} == {("AWS::ApiGateway::RestApi", Status.ERROR),
                                                            ("AWS::ApiGatewayV2::Api", Status.FAIL)}
    assert next(f for f in found if f.status is Status.ERROR).gap.iam_action == "apigateway:GET"
    assert next(f for f in found if f.status is Status.FAIL).resource.id == http


def test_authorization_not_applicable_without_apis(session):
    assert statuses(scan(session, ["apigw.authorization-required"]), "apigw.authorization-required") \
        == [Status.NOT_APPLICABLE]


# --- apigw.waf-attached -----------------------------------------------------------------------------------------

def test_waf_on_public_rest_stages_and_http_apis(session):
    guarded = _rest_api("guarded", {"GET": {}})
    _attach(_web_acl([RATE_RULE]), guarded)
    empty = _rest_api("empty-acl", {"GET": {}})
    _attach(_web_acl([]), empty)
    bare = _rest_api("bare", {"GET": {}})
    _rest_api("private", {"GET": {}}, endpoint="PRIVATE", policy=VPCE_FENCE)  # not public: out of scope
    fronted = _http_api("fronted", {"GET /x": "NONE"})
    lone = _http_api("lone", {"GET /x": "NONE"})
    create(distribution("cdn", waf=f"arn:aws:wafv2:{R}:{ACCOUNT}:global/webacl/edge/1", origins=[{
        "Id": "api", "DomainName": f"{fronted}.execute-api.{R}.amazonaws.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]))
    by_api = {f.resource.id.split("/")[0]: f for f in only(scan(session, ["apigw.waf-attached"]),
                                                            "apigw.waf-attached")}
    assert {k: f.status for k, f in by_api.items()} == {
        guarded: Status.PASS, empty: Status.FAIL, bare: Status.FAIL, fronted: Status.PASS, lone: Status.PASS}
    assert by_api[guarded].evidence["rules"] == 1 and "which has no rules" in by_api[empty].message
    assert by_api[bare].resource.type == "AWS::ApiGateway::Stage" and by_api[bare].resource.id == f"{bare}/prod"
    assert "warning" in by_api[lone].evidence and "warning" not in by_api[fronted].evidence


def test_waf_error_when_stages_or_acl_unreadable(session):
    api = _rest_api("guarded", {"GET": {}})
    _attach(_web_acl([RATE_RULE]), api)
    deny(session, "wafv2.GetWebACL")
    found = only(scan(session, ["apigw.waf-attached"]), "apigw.waf-attached")
    assert Status.ERROR in {f.status for f in found} and Status.PASS not in {f.status for f in found}
    deny(session, "apigateway.GetStages")
    [f] = only(scan(session, ["apigw.waf-attached"]), "apigw.waf-attached")
    assert f.status is Status.ERROR and f.gap.operation == "GetStages"


# --- apigw.throttling --------------------------------------------------------------------------------------------

def test_throttling_by_method_settings_usage_plan_or_route_defaults(session):
    by_stage = _rest_api("by-stage", {"GET": {}}, settings=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "50"}])
    by_plan = _rest_api("by-plan", {"GET": {}})
    boto3.client("apigateway", region_name=R).create_usage_plan(
        name="basic", apiStages=[{"apiId": by_plan, "stage": "prod"}], throttle={"burstLimit": 10, "rateLimit": 5})
    unlimited = _rest_api("unlimited", {"GET": {}})
    http_ok = _http_api("http-ok", {"GET /x": "NONE"}, stage={"DefaultRouteSettings": {
        "ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 3.0}})
    http_bad = _http_api("http-bad", {"GET /x": "NONE"})
    by_api = {f.resource.id.split("/")[0]: f for f in only(scan(session, ["apigw.throttling"]), "apigw.throttling")}
    assert {k: f.status for k, f in by_api.items()} == {
        by_stage: Status.PASS, by_plan: Status.PASS, unlimited: Status.FAIL, http_ok: Status.PASS,
        http_bad: Status.FAIL}
    assert by_api[by_stage].evidence["explicit_paths"] == ["*/*"] and by_api[by_plan].evidence["usage_plans"] == [
        "basic"]
    assert "account-level limits only" in by_api[unlimited].message


def test_throttling_account_default_copied_into_stage_is_not_a_limit(session):
    copied = _rest_api("copied", {"GET": {}}, settings=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "10000"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5000"}])  # moto's account default
    [f] = only(scan(session, ["apigw.throttling"]), "apigw.throttling")
    assert f.resource.id == f"{copied}/prod" and f.status is Status.FAIL


@pytest.mark.parametrize("operation", ["apigateway.GetUsagePlans", "apigateway.GetAccount"])
def test_throttling_error_when_plans_or_account_unreadable(session, operation):
    _rest_api("api", {"GET": {}})
    deny(session, operation)
    assert set(statuses(scan(session, ["apigw.throttling"]), "apigw.throttling")) == {Status.ERROR}


# --- apigw.client-certificate ----------------------------------------------------------------------------------

def test_client_certificate_warning_and_scope(session):
    http = _rest_api("proxy", {"GET": {"integration": "HTTP_PROXY"}})
    _rest_api("mock-only", {"GET": {}})  # no HTTP back end: out of scope
    [f] = only(scan(session, ["apigw.client-certificate"]), "apigw.client-certificate")
    assert f.resource.id == f"{http}/prod" and f.status is Status.PASS and "warning" in f.evidence
    assert f.evidence["http_integrations"] == ["GET /orders"] and f.evidence["mutual_tls_domains"] == []


def test_client_certificate_pass_from_recorded_stage(session):
    # moto can never set clientCertificateId; the stage answer is the real API's shape.
    api = _rest_api("proxy", {"GET": {"integration": "HTTP"}})
    respond_with(session, "api-gateway", "GetStages", lambda p: {"item": [
        {"stageName": "prod", "deploymentId": "d1", "clientCertificateId": "cert123"}]})
    [f] = only(scan(session, ["apigw.client-certificate"]), "apigw.client-certificate")
    assert f.resource.id == f"{api}/prod" and f.status is Status.PASS and "warning" not in f.evidence
    assert "cert123" in f.message


def test_client_certificate_error_and_not_applicable(session):
    assert statuses(scan(session, ["apigw.client-certificate"]), "apigw.client-certificate") \
        == [Status.NOT_APPLICABLE]
    _rest_api("proxy", {"GET": {"integration": "HTTP_PROXY"}})
    deny(session, "apigateway.GetResources")
    assert set(statuses(scan(session, ["apigw.client-certificate"]), "apigw.client-certificate")) == {Status.ERROR}


# --- apigw.resource-policy-source-restriction ------------------------------------------------------------------

def test_source_restriction_private_and_internal_apis(session):
    fenced = _rest_api("fenced", {"GET": {}}, endpoint="PRIVATE", policy=VPCE_FENCE)
    leaky = _rest_api("leaky", {"GET": {}}, endpoint="PRIVATE", policy=OPEN)
    internal = _rest_api("internal", {"GET": {}}, tags={"exposure": "internal"})
    office = _rest_api("office", {"GET": {}}, tags={"exposure": "internal"}, policy={"Statement": [
        {**OPEN["Statement"][0], "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]})
    _rest_api("public", {"GET": {}})  # neither PRIVATE nor tagged internal: out of scope
    check_id = "apigw.resource-policy-source-restriction"
    by_id = {f.resource.id: f for f in only(scan(session, [check_id]), check_id)}
    assert {k: f.status for k, f in by_id.items()} == {fenced: Status.PASS, leaky: Status.FAIL,
                                                       internal: Status.PASS, office: Status.PASS}
    assert "warning" in by_id[internal].evidence and "warning" not in by_id[office].evidence
    assert by_id[fenced].evidence["restricting_statements"] == ["OnlyFromVpce"]
    other = AuditConfig(workers=4, internal_api_tag="tier=private")
    assert {f.resource.id for f in only(scan(session, [check_id], cfg=other), check_id)} == {fenced, leaky}


def test_source_restriction_error(session):
    _rest_api("leaky", {"GET": {}}, endpoint="PRIVATE", policy=OPEN)
    deny(session, "apigateway.GetRestApis")
    check_id = "apigw.resource-policy-source-restriction"
    [f] = only(scan(session, [check_id]), check_id)
    assert f.status is Status.ERROR and f.gap.iam_action == "apigateway:GET"
