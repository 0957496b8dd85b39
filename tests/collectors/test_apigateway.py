from __future__ import annotations

import json

import boto3

from auditor.collectors import load_collectors
from auditor.collectors.apigateway import REST_METHODS, STAGE_WEB_ACLS
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.runner import collect, select_checks
from tests.checks.test_apigw import OPEN, RATE_RULE, _attach, _http_api, _rest_api, _web_acl
from tests.conftest import deny

R = "us-east-1"


def _collect(session) -> Inventory:
    return collect(session, select_checks(["apigw.*", "edge.access-logging"]), [R], AuditConfig(workers=4))


def test_every_action_is_apigateway_get_or_wafv2():
    specs = load_collectors()
    actions = {a for name in ("apigateway", "apigatewayv2") for a in specs.get(name).permissions}
    assert actions <= {"apigateway:GET", "apigateway:GetUsagePlans", "apigateway:GetAccount",
                       "apigateway:GetDomainNames", "apigateway:GetRoutes", "wafv2:GetWebACL"}


def test_methods_come_embedded_and_shared_acls_are_read_once(session):
    acl = _web_acl([RATE_RULE])
    one = _rest_api("one", {"GET": {}, "POST": {"authorizationType": "AWS_IAM", "integration": "HTTP"}},
                    policy=OPEN, tags={"team": "a"})
    two = _rest_api("two", {"GET": {}})
    _attach(acl, one)
    _attach(acl, two)
    http = _http_api("http", {"GET /x": "JWT"}, stage={"AccessLogSettings": {"DestinationArn": "arn:x", "Format": "f"}})
    inv = _collect(session)
    assert inv.api_calls["apigateway:us-east-1:GetResources"] == 2  # one paginated call per API, no GetMethod
    assert "apigateway:us-east-1:GetMethod" not in inv.api_calls
    assert inv.api_calls["wafv2:us-east-1:GetWebACL"] == 1
    apis = {a.id: a for a in inv.apigateway.rest_apis}
    assert [(m.http_method, m.authorization_type, m.integration_type) for m in apis[one].methods] == [
        ("GET", "NONE", "MOCK"), ("POST", "AWS_IAM", "HTTP")]
    assert json.loads(apis[one].policy) == OPEN and apis[one].tags == {"team": "a"}
    assert [s.id for s in inv.apigateway.stages] == sorted([f"{one}/prod", f"{two}/prod"])
    assert inv.apigateway.web_acls[0].rules == 1 and inv.apigateway.account_throttles[0].throttle.limited
    [stage] = inv.apigatewayv2.stages
    assert stage.id == f"{http}/live" and stage.access_log_destination == "arn:x" and stage.protocol == "HTTP"
    assert inv.gaps == []
    restored = Inventory.model_validate(inv.model_dump(mode="json"))
    assert restored.apigateway == inv.apigateway and restored.apigatewayv2 == inv.apigatewayv2


def test_method_and_acl_denials_are_per_resource(session):
    api = _rest_api("one", {"GET": {}})
    _attach(_web_acl([RATE_RULE]), api)
    deny(session, "apigateway.GetResources", "wafv2.GetWebACL")
    inv = _collect(session)
    [rest] = inv.apigateway.rest_apis
    assert rest.methods is None and inv.apigateway.web_acls[0].rules is None
    gaps = {g.dataset: g.resource_id for g in inv.gaps}
    assert gaps[REST_METHODS] == rest.arn and gaps[STAGE_WEB_ACLS].startswith("arn:aws:wafv2:")
    assert boto3.client("apigateway", region_name=R).get_rest_apis()["items"]  # setup itself unaffected
