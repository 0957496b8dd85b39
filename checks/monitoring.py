"""Monitoring and alerting (CIS v7 section 5, checklist Rule M): is each kind of risky activity alerted to a human?

A chain counts when it is complete: a multi-region, logging trail recording all management events → its CloudWatch
Logs group → metric filters whose patterns together catch every sample event of the item (auditor/reference_events)
→ an alarm on the filter's metric with actions enabled → an SNS topic with a confirmed subscriber. EventBridge rules
on the default bus count too when they match the same events in every region where those events happen (global
services: us-east-1) and have a delivering target; EventBridge receives CloudTrail events only where a logging trail
covers the region. Each item is one account-level finding naming the chain found or where it broke.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from auditor.collectors.cloudtrail import TRAIL_SELECTORS, TRAIL_STATUS, TRAILS
from auditor.collectors.cloudwatch import ALARMS
from auditor.collectors.events import RULES, TARGETS, WRITE_EVENTS
from auditor.collectors.guardduty import DETECTORS
from auditor.collectors.logs import METRIC_FILTERS
from auditor.collectors.sns import SUBSCRIPTIONS, TOPIC_ATTRIBUTES, TOPICS
from auditor.config import AuditConfig
from auditor.filter_pattern import PatternError, eb_matches, matches, parse, parse_event_pattern
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.reference_events import Reference, guardduty_findings, noise, samples, to_eventbridge
from auditor.registry import check
from checks._monitoring_chain import Index, judge_chain

CHAIN_NEEDS = (TRAILS, TRAIL_STATUS, TRAIL_SELECTORS, METRIC_FILTERS, ALARMS, SUBSCRIPTIONS, RULES, TARGETS)


@dataclass(frozen=True)
class Item:
    what: str
    ref: Reference
    eventbridge: bool = True  # an EventBridge rule may stand in for filter + alarm
    rate_alarm: bool = False  # the alarm must watch a rate (threshold > 1) or an anomaly band


def _names(names: str, source: str, pin: bool = True) -> Reference:
    """The CIS shape: any of the event names, AND the eventSource when CIS pins it (`pin`)."""
    ors = " || ".join(f"($.eventName = {n})" for n in names.split())
    return Reference(f"{{ ($.eventSource = {source}) && ({ors}) }}" if pin else f"{{ {ors} }}", source=source)


_EC2 = "ec2.amazonaws.com"
ITEMS: dict[str, Item] = {
    "monitoring.unauthorized-api-calls": Item("unauthorized API calls", Reference(
        "{ ($.errorCode =*UnauthorizedOperation) || ($.errorCode =AccessDenied*) && "
        "($.sourceIPAddress!=delivery.logs.amazonaws.com) && ($.eventName!=HeadBucket) }",
        activities=((_EC2, "RunInstances"), (_EC2, "DescribeInstances"), ("iam.amazonaws.com", "CreateUser"),
                    ("s3.amazonaws.com", "GetBucketPolicy")))),
    "monitoring.console-signin-without-mfa": Item("console sign-in without MFA", Reference(
        "{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Yes) }", "signin.amazonaws.com")),
    "monitoring.root-usage": Item("root account usage", Reference(
        "{ $.userIdentity.type = Root && $.userIdentity.invokedBy NOT EXISTS && $.eventType != AwsServiceEvent }",
        activities=(("signin.amazonaws.com", "ConsoleLogin"), (_EC2, "RunInstances"),
                    ("iam.amazonaws.com", "CreateAccessKey"), ("s3.amazonaws.com", "ListBuckets")))),
    "monitoring.iam-policy-changes": Item("IAM policy changes", _names(
        "DeleteGroupPolicy DeleteRolePolicy DeleteUserPolicy PutGroupPolicy PutRolePolicy PutUserPolicy CreatePolicy "
        "DeletePolicy CreatePolicyVersion DeletePolicyVersion AttachRolePolicy DetachRolePolicy AttachUserPolicy "
        "DetachUserPolicy AttachGroupPolicy DetachGroupPolicy", "iam.amazonaws.com", pin=False)),
    "monitoring.cloudtrail-config-changes": Item("CloudTrail configuration changes", _names(
        "CreateTrail UpdateTrail DeleteTrail StartLogging StopLogging", "cloudtrail.amazonaws.com", pin=False)),
    "monitoring.console-auth-failures": Item("console authentication failures", Reference(
        "{ ($.eventName = ConsoleLogin) && ($.errorMessage = Failed authentication) }", "signin.amazonaws.com")),
    "monitoring.cmk-disable-or-deletion": Item("disabling or scheduled deletion of KMS keys", _names(
        "DisableKey ScheduleKeyDeletion", "kms.amazonaws.com")),
    "monitoring.s3-bucket-policy-changes": Item("S3 bucket policy changes", _names(
        "PutBucketAcl PutBucketPolicy PutBucketCors PutBucketLifecycle PutBucketReplication DeleteBucketPolicy "
        "DeleteBucketCors DeleteBucketLifecycle DeleteBucketReplication", "s3.amazonaws.com")),
    "monitoring.config-changes": Item("AWS Config configuration changes", _names(
        "StopConfigurationRecorder DeleteDeliveryChannel PutDeliveryChannel PutConfigurationRecorder",
        "config.amazonaws.com")),
    "monitoring.security-group-changes": Item("security group changes", _names(
        "AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress "
        "RevokeSecurityGroupEgress CreateSecurityGroup DeleteSecurityGroup ModifySecurityGroupRules", _EC2, pin=False)),
    "monitoring.nacl-changes": Item("network ACL changes", _names(
        "CreateNetworkAcl CreateNetworkAclEntry DeleteNetworkAcl DeleteNetworkAclEntry ReplaceNetworkAclEntry "
        "ReplaceNetworkAclAssociation", _EC2, pin=False)),
    "monitoring.network-gateway-changes": Item("network gateway changes", _names(
        "CreateCustomerGateway DeleteCustomerGateway AttachInternetGateway CreateInternetGateway "
        "DeleteInternetGateway DetachInternetGateway", _EC2, pin=False)),
    "monitoring.route-table-changes": Item("route table changes", _names(
        "CreateRoute CreateRouteTable ReplaceRoute ReplaceRouteTableAssociation DeleteRouteTable DeleteRoute "
        "DisassociateRouteTable", _EC2, pin=False)),
    "monitoring.vpc-changes": Item("VPC changes", _names(
        "CreateVpc DeleteVpc ModifyVpcAttribute AcceptVpcPeeringConnection CreateVpcPeeringConnection "
        "DeleteVpcPeeringConnection RejectVpcPeeringConnection AttachClassicLinkVpc DetachClassicLinkVpc "
        "DisableVpcClassicLink EnableVpcClassicLink", _EC2, pin=False)),
    "monitoring.organizations-changes": Item("AWS Organizations changes", _names(
        "AcceptHandshake AttachPolicy CreateAccount CreateOrganizationalUnit CreatePolicy DeclineHandshake "
        "DeleteOrganization DeleteOrganizationalUnit DeletePolicy DetachPolicy DisablePolicyType EnablePolicyType "
        "InviteAccountToOrganization LeaveOrganization MoveAccount RemoveAccountFromOrganization UpdatePolicy "
        "UpdateOrganizationalUnit", "organizations.amazonaws.com")),
    "monitoring.iam-user-created": Item("IAM user and credential creation", _names(
        "CreateUser CreateLoginProfile CreateAccessKey", "iam.amazonaws.com")),
    "monitoring.kms-decrypt-spike": Item("unusual volumes of KMS Decrypt", _names("Decrypt", "kms.amazonaws.com"),
                                         eventbridge=False, rate_alarm=True),
    "monitoring.console-login-any": Item("console sign-in", Reference(
        "{ $.eventName = ConsoleLogin }", "signin.amazonaws.com")),
}
PIPELINE = Item("infrastructure changes", Reference("{ $.readOnly IS FALSE }", activities=(
    (_EC2, "RunInstances"), (_EC2, "AuthorizeSecurityGroupIngress"), ("iam.amazonaws.com", "CreateRole"),
    ("s3.amazonaws.com", "PutBucketPolicy"), ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"))))


@lru_cache(maxsize=64)
def item_samples(check_id: str, account: str) -> tuple[dict[str, Any], ...]:
    item = PIPELINE if check_id == "monitoring.changes-outside-pipeline" else ITEMS[check_id]
    return tuple(samples(item.ref, account))


def _chain_check(check_id: str, item: Item) -> None:
    def run(inv: Inventory) -> Iterator[Finding]:
        yield judge_chain(inv, Index(inv), item, list(item_samples(check_id, inv.account_id)))

    run.__name__ = "monitor_" + check_id.split(".", 1)[1].replace("-", "_")
    run.__doc__ = f"Without an alert on {item.what}, it is seen at the next log review, if ever (CIS v7 section 5)."
    check(check_id, needs=CHAIN_NEEDS)(run)


for _id, _item in ITEMS.items():
    _chain_check(_id, _item)


def _matches_principal(patterns: list[str], rec: dict[str, Any]) -> bool:
    who = rec.get("userIdentity") or {}
    issuer = ((who.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn", "")
    return any(fnmatchcase(arn, p) for p in patterns for arn in (who.get("arn", ""), issuer) if arn)


@check("monitoring.changes-outside-pipeline", needs=(*CHAIN_NEEDS, WRITE_EVENTS))
def changes_outside_pipeline(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Changes made by hand (console, laptops) bypass review; they should raise an alert."""
    pipeline = list(cfg.pipeline_principals)
    recs = [r for r in item_samples("monitoring.changes-outside-pipeline", inv.account_id)
            if not _matches_principal(pipeline, r)]
    finding = judge_chain(inv, Index(inv), PIPELINE, recs)
    outside = [a for a in inv.cloudtrail_activity.actors
               if not any(fnmatchcase(x, p) for p in pipeline for x in (a.principal, a.issuer) if x)]
    seen = sorted({a.issuer or a.principal for a in outside})
    evidence = {**finding.evidence, "pipeline_principals": pipeline or "not configured",
                "writers_outside_pipeline": [{"principal": a.principal, "region": a.region, "events": a.events,
                                              "examples": a.event_names} for a in outside]}
    message = finding.message
    if seen and finding.status is Status.PASS:
        evidence["warning"] = f"{len(seen)} principal(s) outside the pipeline changed infrastructure in 7 days"
        message += f"; warning: {len(seen)} principal(s) outside the pipeline made changes ({', '.join(seen[:3])})"
    yield finding.model_copy(update={"evidence": evidence, "message": message})


def _security_filters(inv: Inventory) -> list[tuple[Any, list[str]]]:
    """Metric filters that catch events of some monitoring item (and not everything), with those items."""
    out = []
    for f in inv.logs.metric_filters:
        try:
            pat = parse(f.pattern)
        except PatternError:
            continue
        if matches(pat, noise(inv.account_id)):
            continue
        hits = [cid for cid in ITEMS if any(matches(pat, r) for r in item_samples(cid, inv.account_id))]
        if hits:
            out.append((f, hits))
    return out


def _security_rule(inv: Inventory, rule: Any) -> bool:
    try:
        pat = parse_event_pattern(rule.event_pattern)
    except PatternError:
        return False
    events = [to_eventbridge({**r, "awsRegion": rule.region}) for cid in ITEMS
              for r in item_samples(cid, inv.account_id)] + guardduty_findings(inv.account_id, rule.region)
    return rule.enabled and any(eb_matches(pat, e) for e in events)


@check("monitoring.alert-topic-subscribed",
       needs=(METRIC_FILTERS, ALARMS, TOPICS, TOPIC_ATTRIBUTES, SUBSCRIPTIONS, RULES, TARGETS))
def alert_topic_subscribed(inv: Inventory) -> Iterator[Finding]:
    """An alarm nobody is subscribed to is a log entry, not an alert."""
    ix = Index(inv)
    watched: dict[str, tuple[Any, set[str], set[str]]] = {}  # alarm arn -> (alarm, filters, items)
    for f, items in _security_filters(inv):
        for a in ix.alarms.get(f.region, []):
            if any(a.watches(m) for m in f.metrics):
                entry = watched.setdefault(a.arn, (a, set(), set()))
                entry[1].add(f"{f.log_group}/{f.name}")
                entry[2].update(items)
    topics = {t for a, _, _ in watched.values() for t in a.sns_actions}
    for a, filters, items in (watched[k] for k in sorted(watched)):
        ok = a.actions_enabled and bool(a.sns_actions)
        why = "has actions disabled" if not a.actions_enabled else "has no SNS action" if not ok else \
            f"notifies {', '.join(t.split(':')[-1] for t in a.sns_actions)}"
        yield Finding.of(a, passed=ok, message=f"security alarm {a.name} {why}", evidence={
            "metric_filters": sorted(filters), "items": sorted(items), "actions_enabled": a.actions_enabled,
            "alarm_actions": a.alarm_actions})
    for rules in ix.rules.values():
        topics |= {t.arn for r in rules if _security_rule(inv, r) for t in r.targets or [] if t.service == "sns"}
    for arn in sorted(topics):
        topic = ix.topics.get(arn)
        if topic is None:
            continue  # another account or an unscanned region: its alarm's evidence names it
        subs = ix.subs.get(arn, [])
        kinds = sorted({s.kind for s in subs if s.confirmed})
        ok = bool(kinds) or bool(topic.subscriptions_confirmed)
        yield Finding.of(topic, passed=ok, evidence={
            "subscriber_protocols": kinds, "pending": sum(not s.confirmed for s in subs),
            "confirmed_count": topic.subscriptions_confirmed},
            message=f"alert topic {topic.name} has confirmed subscribers ({', '.join(kinds) or 'other accounts'})"
            if ok else f"alert topic {topic.name} has no confirmed subscriber")
    if not topics and not watched:
        yield Finding.failed(inv.account(), "no security alarm or alert topic exists: alerts reach nobody")


@check("monitoring.guardduty-findings-routed", needs=(DETECTORS, RULES, TARGETS, SUBSCRIPTIONS))
def guardduty_findings_routed(inv: Inventory) -> Iterator[Finding]:
    """GuardDuty findings nobody is told about are not detection."""
    ix = Index(inv)
    for det in inv.guardduty.detectors:
        if det.status == "DISABLED":
            continue
        findings = guardduty_findings(inv.account_id, det.region)
        routed, partial, silent = [], [], []
        for rule in ix.rules.get(det.region, []):
            try:
                pat = parse_event_pattern(rule.event_pattern)
            except PatternError:
                continue
            hits = [f for f in findings if eb_matches(pat, f)]
            if not rule.enabled or not hits:
                continue
            delivers = [ix.delivers(t.arn) for t in rule.targets or []]
            (routed if len(hits) == len(findings) and True in delivers else
             partial if True in delivers else silent).append(rule.name)
        why = (f"rules {', '.join(partial)} forward only some high-severity findings" if partial else
               f"rules {', '.join(silent)} have no delivering target" if silent else
               "no enabled EventBridge rule on the default bus matches GuardDuty findings")
        evidence = {"rules": routed, "partial": partial, "silent": silent,
                    "sample_findings": [f["detail"]["type"] for f in findings]}
        yield Finding.of(det, passed=bool(routed), evidence=evidence,
                         message=f"GuardDuty findings in {det.region} are routed by {', '.join(routed)}" if routed
                         else f"GuardDuty findings in {det.region} are not routed: {why}")

