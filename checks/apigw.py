"""API Gateway: authorization on methods and routes, WAF on public stages, throttling, client certificates
towards HTTP back ends, and source restrictions in the resource policies of internal APIs."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.apigateway import (
    ACCOUNT_THROTTLE,
    HTTP_APIS,
    HTTP_ROUTES,
    HTTP_STAGES,
    REST_APIS,
    REST_METHODS,
    REST_STAGES,
    STAGE_WEB_ACLS,
    USAGE_PLANS,
    HttpApi,
    RestApi,
    RestStage,
    Throttle,
)
from auditor.collectors.cloudfront import DISTRIBUTIONS
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy import Statement, labelled
from auditor.policy_public import restricting_conditions
from auditor.registry import check
from checks.s3 import tag_matches

INVOKE = "execute-api:Invoke"
VPC_KEYS = ("aws:sourcevpce", "aws:sourcevpc")
NETWORK_KEYS = (*VPC_KEYS, "aws:sourceip")
_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NotIpAddress", "ArnNotEquals",
            "ArnNotLike")
HTTP_INTEGRATIONS = ("HTTP", "HTTP_PROXY")


def _deny_outside(stmt: Statement, keys: tuple[str, ...]) -> bool:
    """A Deny of Invoke unless the caller comes from the listed VPCs / endpoints / IP ranges."""
    if stmt.effect != "Deny" or not stmt.matches_action(INVOKE):
        return False
    for op, kv in stmt.conditions.items():
        if op.rpartition(":")[2].removesuffix("IfExists") not in _NEGATED:
            continue
        if any(k.lower() in keys and vals and all(v.strip() not in ("", "*") for v in vals) for k, vals in kv.items()):
            return True
    return False


def source_restriction(doc: str | None, keys: tuple[str, ...]) -> list[str] | None:
    """Statements (Sid or #index) that confine Invoke to the given network sources; [] when none do, None when
    the policy is not a valid document. Every Allow of Invoke must be confined, or one Deny must fence all."""
    if doc is None:
        return []
    try:
        stmts = labelled(doc)
    except (ValueError, TypeError, AttributeError):
        return None
    denies = [label for label, s in stmts if _deny_outside(s, keys)]
    if denies:
        return denies
    allows = [(label, s) for label, s in stmts if s.allows and s.matches_action(INVOKE)]
    limited = [label for label, s in allows if any(c.lower().endswith(k) for c in restricting_conditions(s)
                                                   for k in keys)]
    return limited if allows and len(limited) == len(allows) else []


def _private(api: RestApi) -> bool:
    return "PRIVATE" in api.endpoint_types


@check("apigw.authorization-required", needs=(REST_APIS, REST_METHODS, HTTP_APIS, HTTP_ROUTES))
def authorization_required(inv: Inventory) -> Iterator[Finding]:
    """Every method or route checks the caller: IAM, a Lambda/Cognito/JWT authorizer, or an API key."""
    for api in inv.apigateway.rest_apis:
        if api.methods is None:
            yield Finding.with_status(Status.ERROR, api, f"REST API {api.name}: methods unreadable")
            continue
        fenced = _private(api) and bool(source_restriction(api.policy, VPC_KEYS))
        for m in api.methods:
            if m.http_method == "OPTIONS":
                continue
            ok = m.authorization_type != "NONE" or m.api_key_required or fenced
            how = (m.authorization_type if m.authorization_type != "NONE" else "an API key" if m.api_key_required
                   else "a PRIVATE endpoint whose policy admits only listed VPC endpoints" if fenced else "nothing")
            yield Finding.of(api, passed=ok, subkey=f"{m.http_method} {m.path}",
                             message=f"REST API {api.name} {m.http_method} {m.path} is protected by {how}" if ok
                             else f"REST API {api.name} {m.http_method} {m.path} requires no authorization",
                             evidence={"authorization_type": m.authorization_type,
                                       "api_key_required": m.api_key_required, "endpoint_types": api.endpoint_types,
                                       "private_with_vpc_policy": fenced})
    for h in inv.apigatewayv2.apis:
        yield from _routes(h)


def _routes(h: HttpApi) -> Iterator[Finding]:
    if h.routes is None:
        yield Finding.with_status(Status.ERROR, h, f"{h.protocol} API {h.name}: routes unreadable")
        return
    for r in h.routes:
        if h.protocol == "WEBSOCKET" and r.key != "$connect":
            continue  # WebSocket APIs authorize once, on $connect
        ok = r.authorization_type != "NONE" or (h.protocol == "WEBSOCKET" and r.api_key_required)
        yield Finding.of(h, passed=ok, subkey=r.key,
                         message=f"{h.protocol} API {h.name} route {r.key} requires {r.authorization_type} "
                         "authorization" if ok else f"{h.protocol} API {h.name} route {r.key} requires no "
                         "authorization", evidence={"authorization_type": r.authorization_type,
                                                   "api_key_required": r.api_key_required, "protocol": h.protocol})


@check("apigw.waf-attached", needs=(REST_APIS, REST_STAGES, STAGE_WEB_ACLS, HTTP_APIS, HTTP_STAGES, DISTRIBUTIONS))
def waf_attached(inv: Inventory) -> Iterator[Finding]:
    """Public REST stages sit behind a web ACL with rules; HTTP APIs can only get one through CloudFront."""
    apis = {(a.region, a.id): a for a in inv.apigateway.rest_apis}
    acls = {(w.region, w.arn): w for w in inv.apigateway.web_acls}
    for st in inv.apigateway.stages:
        api = apis.get((st.region, st.api_id))
        if api is None or _private(api):
            continue
        name = f"REST API {st.api_name} stage {st.stage_name}"
        evidence: dict[str, Any] = {"web_acl_arn": st.web_acl_arn or None, "endpoint_types": api.endpoint_types}
        acl = acls.get((st.region, st.web_acl_arn))
        if not st.web_acl_arn:
            yield Finding.failed(st, f"{name} has no AWS WAF web ACL", evidence=evidence)
        elif ":wafv2:" not in st.web_acl_arn:
            yield Finding.passed(st, f"{name} is protected by WAF Classic web ACL {st.web_acl_arn}",
                                 evidence={**evidence, "waf": "WAF Classic", "rules": "not inspected"})
        elif acl is None or acl.rules is None:
            yield Finding.with_status(Status.ERROR, st, f"{name}: rules of web ACL {st.web_acl_arn} unreadable",
                                      evidence)
        else:
            yield Finding.of(st, passed=acl.rules > 0, evidence={**evidence, "rules": acl.rules},
                             message=f"{name} is protected by web ACL {st.web_acl_arn} ({acl.rules} rule(s))"
                             if acl.rules else f"{name} has web ACL {st.web_acl_arn}, which has no rules")
    fronted = {o.domain.lower(): d.id for d in inv.cloudfront.distributions if d.web_acl_id for o in d.origins}
    http_apis = {(a.region, a.id): a for a in inv.apigatewayv2.apis}
    for hs in inv.apigatewayv2.stages:
        if hs.protocol != "HTTP":
            continue
        h = http_apis.get((hs.region, hs.api_id))
        host = (h.endpoint if h else "").removeprefix("https://").lower()
        via = fronted.get(host) if host else None
        name = f"HTTP API {hs.api_name} stage {hs.stage_name}"
        if via:
            yield Finding.passed(hs, f"{name} is fronted by CloudFront distribution {via} with AWS WAF",
                                 evidence={"endpoint": host, "distribution": via})
        else:
            warning = "HTTP APIs cannot take AWS WAF directly; front them with CloudFront and a web ACL"
            yield Finding.passed(hs, f"{name}: {warning} (warning)",
                                 evidence={"endpoint": host or None, "distribution": None, "warning": warning})


def _explicit(throttles: dict[str, Throttle], default: Throttle | None) -> list[str]:
    """Method-setting paths with a real limit that is not just the account default copied into the stage."""
    return sorted(p for p, t in throttles.items() if t.limited and t != default)


@check("apigw.throttling", needs=(REST_APIS, REST_STAGES, USAGE_PLANS, ACCOUNT_THROTTLE, HTTP_APIS, HTTP_STAGES))
def throttling(inv: Inventory) -> Iterator[Finding]:
    """Stage or usage-plan limits keep one client from spending the whole account's request quota."""
    defaults = {a.region: a.throttle for a in inv.apigateway.account_throttles}
    for st in inv.apigateway.stages:
        yield _rest_throttle(inv, st, defaults.get(st.region))
    for hs in inv.apigatewayv2.stages:
        t = hs.default_throttle
        ok = bool(t and t.limited)
        name = f"{hs.protocol} API {hs.api_name} stage {hs.stage_name}"
        yield Finding.of(hs, passed=ok, evidence={"default_route_throttle": t.model_dump() if t else None},
                         message=f"{name} throttles routes at burst {t.burst_limit}, rate {t.rate_limit}" if ok and t
                         else f"{name} has no default route throttling (account-level limits only)")


def _rest_throttle(inv: Inventory, st: RestStage, default: Throttle | None) -> Finding:
    explicit = _explicit(st.method_throttles, default)
    plans = sorted(p.name or p.id for p in inv.apigateway.usage_plans if p.region == st.region
                   for s in p.stages if (s.api_id, s.stage) == (st.api_id, st.stage_name)
                   and ((p.throttle and p.throttle.limited) or any(t.limited for t in s.method_throttles.values())))
    evidence = {"method_throttles": {k: v.model_dump() for k, v in st.method_throttles.items()},
                "explicit_paths": explicit, "usage_plans": plans,
                "account_default": default.model_dump() if default else None}
    name = f"REST API {st.api_name} stage {st.stage_name}"
    if explicit or plans:
        how = ", ".join(([f"method settings {', '.join(explicit)}"] if explicit else [])
                        + ([f"usage plan(s) {', '.join(plans)}"] if plans else []))
        return Finding.passed(st, f"{name} is throttled by {how}", evidence=evidence)
    return Finding.failed(st, f"{name} has no stage or usage-plan throttling (account-level limits only)",
                          evidence=evidence)


@check("apigw.client-certificate", needs=(REST_APIS, REST_METHODS, REST_STAGES))
def client_certificate(inv: Inventory) -> Iterator[Finding]:
    """Informational: a client certificate lets HTTP back ends verify that a request came from API Gateway."""
    apis = {(a.region, a.id): a for a in inv.apigateway.rest_apis}
    mtls = {d.region: d.domains for d in inv.apigateway.domains}
    for st in inv.apigateway.stages:
        api = apis.get((st.region, st.api_id))
        if api is None:
            continue
        name = f"REST API {st.api_name} stage {st.stage_name}"
        if api.methods is None:
            yield Finding.with_status(Status.ERROR, st, f"{name}: integrations unreadable")
            continue
        http = sorted({f"{m.http_method} {m.path}" for m in api.methods if m.integration_type in HTTP_INTEGRATIONS})
        if not http:
            continue
        domains = mtls.get(st.region)
        evidence: dict[str, Any] = {"client_certificate_id": st.client_certificate_id or None,
                                    "http_integrations": http, "mutual_tls_domains": "unknown" if domains is None
                                    else [d.name for d in domains if d.mutual_tls]}
        if st.client_certificate_id:
            yield Finding.passed(st, f"{name} presents client certificate {st.client_certificate_id} to its HTTP "
                                 "back ends", evidence=evidence)
        else:
            warning = "HTTP back ends cannot tell API Gateway's requests from anyone else's (no client certificate)"
            yield Finding.passed(st, f"{name}: {warning} (warning)", evidence={**evidence, "warning": warning})


@check("apigw.resource-policy-source-restriction", needs=(REST_APIS,))
def resource_policy_source_restriction(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """PRIVATE APIs admit only listed VPC endpoints / VPCs; internal-tagged public APIs only listed networks."""
    for api in inv.apigateway.rest_apis:
        private = _private(api)
        if not private and not tag_matches(api.tags, cfg.internal_api_tag):
            continue
        keys = VPC_KEYS if private else NETWORK_KEYS
        fenced = source_restriction(api.policy, keys)
        kind = "PRIVATE" if private else f"{'/'.join(api.endpoint_types) or 'public'} (tagged {cfg.internal_api_tag})"
        evidence: dict[str, Any] = {"endpoint_types": api.endpoint_types, "policy": api.policy is not None,
                                    "restricting_statements": fenced, "condition_keys": list(keys)}
        if fenced is None:
            yield Finding.with_status(Status.ERROR, api, f"REST API {api.name}: resource policy is not valid JSON",
                                      evidence)
        elif fenced:
            yield Finding.passed(api, f"{kind} REST API {api.name} admits callers only from listed networks "
                                 f"(statement {', '.join(fenced)})", evidence=evidence)
        elif private:
            yield Finding.failed(api, f"PRIVATE REST API {api.name} policy does not restrict aws:SourceVpce or "
                                 "aws:SourceVpc", evidence=evidence)
        else:
            warning = "internal API reachable from any network: no aws:SourceIp / aws:SourceVpc(e) condition"
            yield Finding.passed(api, f"{kind} REST API {api.name}: {warning} (warning)",
                                 evidence={**evidence, "warning": warning})
