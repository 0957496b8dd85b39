"""API Gateway: REST APIs (v1) with methods, stages, usage plans, the account throttle, custom domains and the
web ACLs on their stages; HTTP and WebSocket APIs (v2) with routes and stages.

GetResources is asked with embed=methods, so every method (authorization, API key, integration type) of an API
comes in one paginated call instead of one GetMethod per method. Usage plans, the account throttle and custom
domains are one call each per region; web ACLs are read once per ACL however many stages share it.
"""
from __future__ import annotations

import json
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.guard import iam_action
from auditor.models import Frozen, Resource

REST_APIS = "apigateway.rest_apis"
REST_METHODS = "apigateway.methods"
REST_STAGES = "apigateway.stages"
USAGE_PLANS = "apigateway.usage_plans"
ACCOUNT_THROTTLE = "apigateway.account"
DOMAIN_NAMES = "apigateway.domain_names"  # enrichment (mutual TLS report); no check needs it
STAGE_WEB_ACLS = "apigateway.web_acls"
HTTP_APIS = "apigatewayv2.apis"
HTTP_ROUTES = "apigatewayv2.routes"
HTTP_STAGES = "apigatewayv2.stages"


def _get(op: str, service: str = "apigateway") -> tuple[str, ...]:
    return (iam_action(service, op),)


class Method(Frozen):
    path: str
    http_method: str
    authorization_type: str = "NONE"  # NONE | AWS_IAM | CUSTOM | COGNITO_USER_POOLS
    api_key_required: bool = False
    integration_type: str = ""  # HTTP | HTTP_PROXY | AWS | AWS_PROXY | MOCK | "" (none)


class RestApi(Resource):
    resource_type: ClassVar[str] = "AWS::ApiGateway::RestApi"
    name: str = ""
    endpoint_types: list[str] = []  # EDGE | REGIONAL | PRIVATE
    policy: str | None = None  # the resource policy as JSON text; None: none
    tags: dict[str, str] = {}
    methods: list[Method] | None = None  # None: GetResources failed (see gaps)


class Throttle(Frozen):
    burst_limit: int | None = None
    rate_limit: float | None = None

    @property
    def limited(self) -> bool:
        """A real limit: -1 (or 0 and below) turns throttling off for the method."""
        return (self.burst_limit or 0) > 0 or (self.rate_limit or 0) > 0


class RestStage(Resource):
    resource_type: ClassVar[str] = "AWS::ApiGateway::Stage"
    api_id: str
    api_name: str = ""
    stage_name: str
    access_log_destination: str = ""
    web_acl_arn: str = ""
    client_certificate_id: str = ""
    method_throttles: dict[str, Throttle] = {}  # methodSettings path ("*/*", "res/GET") -> limits


class UsagePlanStage(Frozen):
    api_id: str
    stage: str
    method_throttles: dict[str, Throttle] = {}


class UsagePlan(Frozen):
    region: str
    id: str
    name: str = ""
    throttle: Throttle | None = None
    stages: list[UsagePlanStage] = []


class AccountThrottle(Frozen):
    region: str
    throttle: Throttle


class DomainName(Frozen):
    name: str
    mutual_tls: bool = False


class RegionDomains(Frozen):
    region: str
    domains: list[DomainName] | None = None  # None: GetDomainNames failed (enrichment only)


class WebAcl(Frozen):
    region: str
    arn: str
    rules: int | None = None  # None: not a WAFv2 ACL (WAF Classic) or unreadable


class ApiGatewaySection(Section):
    rest_apis: list[RestApi] = []
    stages: list[RestStage] = []
    usage_plans: list[UsagePlan] = []
    account_throttles: list[AccountThrottle] = []
    domains: list[RegionDomains] = []
    web_acls: list[WebAcl] = []


def rest_api_arn(region: str, api_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:apigateway:{region}::/restapis/{api_id}"


def policy_text(raw: str | None) -> str | None:
    """GetRestApis returns the policy as JSON with escaped quotes ({\\"Version\\": ...}); give back plain JSON."""
    if not raw:
        return None
    for candidate in (raw, raw.replace('\\"', '"').replace("\\\\", "\\")):
        try:
            json.loads(candidate)
            return candidate
        except ValueError:
            continue
    return raw  # not JSON either way; the checks report it as unreadable


def _throttle(raw: dict[str, Any] | None, burst: str = "burstLimit", rate: str = "rateLimit") -> Throttle | None:
    if not raw or (raw.get(burst) is None and raw.get(rate) is None):
        return None
    return Throttle(burst_limit=raw.get(burst), rate_limit=raw.get(rate))


@collector("apigateway", section=ApiGatewaySection, regional=True, datasets={
    REST_APIS: _get("GetRestApis"), REST_METHODS: _get("GetResources"), REST_STAGES: _get("GetStages"),
    USAGE_PLANS: _get("GetUsagePlans"), ACCOUNT_THROTTLE: _get("GetAccount"), DOMAIN_NAMES: _get("GetDomainNames"),
    STAGE_WEB_ACLS: ("wafv2:GetWebACL",),
})
def collect_apigateway(ctx: CollectContext) -> ApiGatewaySection:
    ag = ctx.client("apigateway")
    apis = ctx.paginate(REST_APIS, ag, "get_rest_apis", "items")
    plans = ctx.paginate(USAGE_PLANS, ag, "get_usage_plans", "items")
    account = ctx.call(ACCOUNT_THROTTLE, ag, "get_account")
    domains = ctx.paginate(DOMAIN_NAMES, ag, "get_domain_names", "items")

    def api(raw: dict[str, Any]) -> tuple[RestApi, list[RestStage]]:
        arn = rest_api_arn(ctx.region, raw["id"], ctx.partition)
        resources = ctx.paginate(REST_METHODS, ag, "get_resources", "items", restApiId=raw["id"], embed=["methods"],
                                 resource_id=arn)
        stages = ctx.call(REST_STAGES, ag, "get_stages", restApiId=raw["id"], resource_id=arn)
        methods = None if resources is None else sorted(
            (Method(path=r.get("path", ""), http_method=verb, authorization_type=m.get("authorizationType", "NONE"),
                    api_key_required=bool(m.get("apiKeyRequired")),
                    integration_type=(m.get("methodIntegration") or {}).get("type", ""))
             for r in resources for verb, m in (r.get("resourceMethods") or {}).items()),
            key=lambda m: (m.path, m.http_method))
        record = RestApi(arn=arn, id=raw["id"], region=ctx.region, account_id=ctx.account_id,
                         name=raw.get("name", ""), endpoint_types=(raw.get("endpointConfiguration") or {}).get(
                             "types", []), policy=policy_text(raw.get("policy")), tags=raw.get("tags") or {},
                         methods=methods)
        return record, [_stage(ctx, record, s) for s in (stages or {}).get("item") or []]

    results = ctx.map(api, sorted(apis or [], key=lambda a: a["id"]))
    stages = sorted((s for _, ss in results for s in ss), key=lambda s: s.arn)
    return ApiGatewaySection(
        rest_apis=[a for a, _ in results], stages=stages,
        usage_plans=sorted((_plan(ctx, p) for p in plans or []), key=lambda p: p.id),
        account_throttles=[AccountThrottle(region=ctx.region, throttle=_throttle(account.get("throttleSettings"))
                                           or Throttle())] if account else [],
        domains=[RegionDomains(region=ctx.region, domains=None if domains is None else sorted(
            (DomainName(name=d.get("domainName", ""), mutual_tls=bool(d.get("mutualTlsAuthentication")))
             for d in domains), key=lambda d: d.name))],
        web_acls=_web_acls(ctx, sorted({s.web_acl_arn for s in stages if s.web_acl_arn})))


def _stage(ctx: CollectContext, api: RestApi, s: dict[str, Any]) -> RestStage:
    name = s.get("stageName", "")
    throttles = {path: t for path, ms in (s.get("methodSettings") or {}).items()
                 if (t := _throttle(ms, "throttlingBurstLimit", "throttlingRateLimit"))}
    return RestStage(arn=f"{api.arn}/stages/{name}", id=f"{api.id}/{name}", region=ctx.region,
                     account_id=ctx.account_id, api_id=api.id, api_name=api.name, stage_name=name,
                     access_log_destination=(s.get("accessLogSettings") or {}).get("destinationArn", ""),
                     web_acl_arn=s.get("webAclArn") or "", client_certificate_id=s.get("clientCertificateId") or "",
                     method_throttles=throttles)


def _plan(ctx: CollectContext, p: dict[str, Any]) -> UsagePlan:
    stages = [UsagePlanStage(api_id=s.get("apiId", ""), stage=s.get("stage", ""),
                             method_throttles={k: t for k, v in (s.get("throttle") or {}).items()
                                               if (t := _throttle(v))})
              for s in p.get("apiStages") or []]
    return UsagePlan(region=ctx.region, id=p.get("id", ""), name=p.get("name", ""),
                     throttle=_throttle(p.get("throttle")), stages=sorted(stages, key=lambda s: (s.api_id, s.stage)))


def _web_acls(ctx: CollectContext, arns: list[str]) -> list[WebAcl]:
    waf = ctx.client("wafv2")

    def read(arn: str) -> WebAcl:
        # arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>; WAF Classic ACLs are not read here
        parts = arn.split(":", 5)[-1].split("/")
        if ":wafv2:" not in arn or len(parts) < 4:
            return WebAcl(region=ctx.region, arn=arn)
        resp = ctx.call(STAGE_WEB_ACLS, waf, "get_web_acl", Name=parts[2], Id=parts[3], Scope="REGIONAL",
                        resource_id=arn)
        rules = None if resp is None else len((resp.get("WebACL") or {}).get("Rules") or [])
        return WebAcl(region=ctx.region, arn=arn, rules=rules)

    return ctx.map(read, arns)


# --- HTTP and WebSocket APIs (apigatewayv2) -------------------------------------------------------------------

class Route(Frozen):
    key: str
    authorization_type: str = "NONE"  # NONE | AWS_IAM | CUSTOM | JWT
    api_key_required: bool = False


class HttpApi(Resource):
    resource_type: ClassVar[str] = "AWS::ApiGatewayV2::Api"
    name: str = ""
    protocol: str = ""  # HTTP | WEBSOCKET
    endpoint: str = ""
    tags: dict[str, str] = {}
    routes: list[Route] | None = None  # None: GetRoutes failed (see gaps)


class HttpStage(Resource):
    resource_type: ClassVar[str] = "AWS::ApiGatewayV2::Stage"
    api_id: str
    api_name: str = ""
    protocol: str = ""
    stage_name: str
    access_log_destination: str = ""
    default_throttle: Throttle | None = None


class ApiGatewayV2Section(Section):
    apis: list[HttpApi] = []
    stages: list[HttpStage] = []


@collector("apigatewayv2", section=ApiGatewayV2Section, regional=True, datasets={
    HTTP_APIS: _get("GetApis", "apigatewayv2"), HTTP_ROUTES: _get("GetRoutes", "apigatewayv2"),
    HTTP_STAGES: _get("GetStages", "apigatewayv2"),
})
def collect_apigatewayv2(ctx: CollectContext) -> ApiGatewayV2Section:
    v2 = ctx.client("apigatewayv2")
    apis = ctx.paginate(HTTP_APIS, v2, "get_apis", "Items")

    def api(raw: dict[str, Any]) -> tuple[HttpApi, list[HttpStage]]:
        arn = f"arn:{ctx.partition}:apigateway:{ctx.region}::/apis/{raw['ApiId']}"
        routes = ctx.paginate(HTTP_ROUTES, v2, "get_routes", "Items", ApiId=raw["ApiId"], resource_id=arn)
        stages = ctx.paginate(HTTP_STAGES, v2, "get_stages", "Items", ApiId=raw["ApiId"], resource_id=arn)
        record = HttpApi(arn=arn, id=raw["ApiId"], region=ctx.region, account_id=ctx.account_id,
                         name=raw.get("Name", ""), protocol=raw.get("ProtocolType", ""),
                         endpoint=raw.get("ApiEndpoint", ""), tags=raw.get("Tags") or {},
                         routes=None if routes is None else sorted(
                             (Route(key=r.get("RouteKey", ""), authorization_type=r.get("AuthorizationType", "NONE"),
                                    api_key_required=bool(r.get("ApiKeyRequired"))) for r in routes),
                             key=lambda r: r.key))
        return record, [HttpStage(
            arn=f"{arn}/stages/{s.get('StageName', '')}", id=f"{raw['ApiId']}/{s.get('StageName', '')}",
            region=ctx.region, account_id=ctx.account_id, api_id=raw["ApiId"], api_name=record.name,
            protocol=record.protocol, stage_name=s.get("StageName", ""),
            access_log_destination=(s.get("AccessLogSettings") or {}).get("DestinationArn", ""),
            default_throttle=_throttle(s.get("DefaultRouteSettings"), "ThrottlingBurstLimit", "ThrottlingRateLimit"))
            for s in stages or []]

    results = ctx.map(api, sorted(apis or [], key=lambda a: a["ApiId"]))
    return ApiGatewayV2Section(apis=[a for a, _ in results],
                               stages=sorted((s for _, ss in results for s in ss), key=lambda s: s.arn))
