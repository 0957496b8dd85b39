"""Filter patterns are judged by the events they match: equivalent spellings pass, narrowing ones do not."""
from __future__ import annotations

import pytest

from auditor.filter_pattern import PatternError, eb_matches, matches, parse
from auditor.reference_events import (
    covers,
    guardduty_findings,
    needs_read_only_delivery,
    noise,
    samples,
    to_eventbridge,
)
from checks.monitoring import ITEMS, PIPELINE

ACCOUNT = "123456789012"

# Appendix E of the checklist, verbatim (CIS v7.0.0 section 5).
APPENDIX_E = {
    "monitoring.unauthorized-api-calls": "{ ($.errorCode =*UnauthorizedOperation) || ($.errorCode =AccessDenied*) && "
    "($.sourceIPAddress!=delivery.logs.amazonaws.com) && ($.eventName!=HeadBucket) }",
    "monitoring.console-signin-without-mfa":
        "{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Yes) }",
    "monitoring.root-usage": "{ $.userIdentity.type = Root && $.userIdentity.invokedBy NOT EXISTS && "
    "$.eventType != AwsServiceEvent }",
    "monitoring.iam-policy-changes": "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||"
    "($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||"
    "($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||"
    "($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||"
    "($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||"
    "($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}",
    "monitoring.cloudtrail-config-changes": "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || "
    "($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    "monitoring.console-auth-failures": "{ ($.eventName = ConsoleLogin) && ($.errorMessage = Failed authentication) }",
    "monitoring.cmk-disable-or-deletion": "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||"
    "($.eventName=ScheduleKeyDeletion)) }",
    "monitoring.s3-bucket-policy-changes": "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || "
    "($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || "
    "($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) "
    "|| ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
    "monitoring.config-changes": "{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)"
    "||($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||"
    "($.eventName=PutConfigurationRecorder)) }",
    "monitoring.security-group-changes": "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = "
    "AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = "
    "RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) || "
    "($.eventName = ModifySecurityGroupRules) }",
    "monitoring.nacl-changes": "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || "
    "($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = "
    "ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }",
    "monitoring.network-gateway-changes": "{ ($.eventName = CreateCustomerGateway) || ($.eventName = "
    "DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || "
    "($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }",
    "monitoring.route-table-changes": "{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || "
    "($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) "
    "|| ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }",
    "monitoring.vpc-changes": "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = "
    "ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) "
    "|| ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = "
    "AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || "
    "($.eventName = EnableVpcClassicLink) }",
    "monitoring.organizations-changes": "{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "
    "AcceptHandshake) || ($.eventName = AttachPolicy) || ($.eventName = CreateAccount) || ($.eventName = "
    "CreateOrganizationalUnit) || ($.eventName = CreatePolicy) || ($.eventName = DeclineHandshake) || ($.eventName = "
    "DeleteOrganization) || ($.eventName = DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || ($.eventName "
    "= DetachPolicy) || ($.eventName = DisablePolicyType) || ($.eventName = EnablePolicyType) || ($.eventName = "
    "InviteAccountToOrganization) || ($.eventName = LeaveOrganization) || ($.eventName = MoveAccount) || ($.eventName "
    "= RemoveAccountFromOrganization) || ($.eventName = UpdatePolicy) || ($.eventName = UpdateOrganizationalUnit)) }",
}


def _covers(pattern: str, check_id: str) -> bool:
    return covers(pattern, ITEMS[check_id].ref, ACCOUNT)


@pytest.mark.parametrize("check_id", sorted(APPENDIX_E))
def test_every_appendix_e_pattern_covers_its_item(check_id):
    assert _covers(APPENDIX_E[check_id], check_id)


def test_every_item_has_samples_for_every_branch():
    for check_id, item in {**ITEMS, "pipeline": PIPELINE}.items():
        recs = samples(item.ref, ACCOUNT)
        assert recs, check_id
        assert not matches(parse(item.ref.pattern), noise(ACCOUNT)), check_id
    names = {r["eventName"] for r in samples(ITEMS["monitoring.organizations-changes"].ref, ACCOUNT)}
    assert len(names) == 18


@pytest.mark.parametrize(("check_id", "pattern"), [
    # CIS v1-v3 spelling: quoted, no exclusions (wider than v7)
    ("monitoring.unauthorized-api-calls",
     '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'),
    # v7 intent with explicit parentheses
    ("monitoring.unauthorized-api-calls", '{ (($.errorCode="*UnauthorizedOperation")||($.errorCode="AccessDenied*"))'
                                          ' && ($.sourceIPAddress!="delivery.logs.amazonaws.com")'
                                          ' && ($.eventName!="HeadBucket") }'),
    # term order, quoting, whitespace
    ("monitoring.cloudtrail-config-changes",
     '{($.eventName="StopLogging")||($.eventName="DeleteTrail")||($.eventName="UpdateTrail")||'
     '($.eventName="CreateTrail")||($.eventName="StartLogging")}'),
    # an extra OR term only widens
    ("monitoring.cmk-disable-or-deletion",
     '{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") '
     '|| ($.eventName = "ScheduleKeyDeletion") || ($.eventName = "DeleteAlias")) }'),
    # pinning the (only possible) event source is equivalent
    ("monitoring.iam-policy-changes", "{ $.eventSource = iam.amazonaws.com && (" + " || ".join(
        f"$.eventName = {n}" for n in "DeleteGroupPolicy DeleteRolePolicy DeleteUserPolicy PutGroupPolicy "
        "PutRolePolicy PutUserPolicy CreatePolicy DeletePolicy CreatePolicyVersion DeletePolicyVersion "
        "AttachRolePolicy DetachRolePolicy AttachUserPolicy DetachUserPolicy AttachGroupPolicy "
        "DetachGroupPolicy".split()) + ") }"),
    ("monitoring.console-auth-failures",
     '{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }'),
    ("monitoring.console-signin-without-mfa",
     '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type != '
     '"AssumedRole") || ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'),
    ("monitoring.console-login-any", "ConsoleLogin"),  # a text term matches the raw JSON line
    ("monitoring.root-usage", '{ $.userIdentity.type = "Root" }'),  # wider: also AWS-service events for root
    ("monitoring.kms-decrypt-spike", '{ $.eventName = %^Decrypt$% }'),  # regex value
])
def test_equivalent_or_wider_patterns_cover(check_id, pattern):
    assert _covers(pattern, check_id)


@pytest.mark.parametrize(("check_id", "pattern"), [
    # drops DeleteTrail
    ("monitoring.cloudtrail-config-changes", "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || "
                                             "($.eventName = StartLogging) || ($.eventName = StopLogging) }"),
    # exact value instead of a prefix: misses AccessDeniedException
    ("monitoring.unauthorized-api-calls",
     '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied") }'),
    # only IAM users: misses SSO/role sessions and root
    ("monitoring.console-signin-without-mfa",
     '{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != Yes) && ($.userIdentity.type = IAMUser) }'),
    # only successful calls: misses attempts that were denied
    ("monitoring.iam-user-created", '{ ($.eventSource = iam.amazonaws.com) && (($.eventName = CreateUser) || '
                                    '($.eventName = CreateLoginProfile) || ($.eventName = CreateAccessKey)) && '
                                    '($.errorCode NOT EXISTS) }'),
    # AND instead of OR
    ("monitoring.cmk-disable-or-deletion", "{ ($.eventSource = kms.amazonaws.com) && ($.eventName = DisableKey) && "
                                           "($.eventName = ScheduleKeyDeletion) }"),
    # wrong event source
    ("monitoring.config-changes", "{ ($.eventSource = ec2.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||"
                                  "($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||"
                                  "($.eventName=PutConfigurationRecorder)) }"),
    # matches everything: an alarm on it is not an alert on this item
    ("monitoring.root-usage", "{ $.eventVersion = * }"),
    ("monitoring.root-usage", ""),
    # unreadable
    ("monitoring.root-usage", "{ $.userIdentity.type = Root && }"),
    ("monitoring.root-usage", "[version, account, eni]"),
])
def test_narrowing_or_unusable_patterns_do_not_cover(check_id, pattern):
    assert not _covers(pattern, check_id)


@pytest.mark.parametrize("pattern", ["{ $.a = }", "{ a = b }", "{ $.a = 1", "{ ($.a = 1 }", "{ $.a IS MAYBE }",
                                     "{ $.a ~ 1 }", "{ $. = 1 }"])
def test_malformed_patterns_raise(pattern):
    with pytest.raises(PatternError):
        parse(pattern)


def test_comparison_semantics():
    rec = {"a": {"b": [{"c": 5}, {"c": "x"}]}, "flag": False, "none": None, "name": "AccessDeniedException",
           "ip": "10.0.0.1"}
    assert matches(parse("{ $.a.b[0].c = 5 }"), rec) and matches(parse("{ $.a.b[0].c >= 5 }"), rec)
    assert not matches(parse("{ $.a.b[0].c > 5 }"), rec) and matches(parse("{ $.a.b[1].c = x }"), rec)
    assert matches(parse("{ $.flag IS FALSE }"), rec) and not matches(parse("{ $.flag IS TRUE }"), rec)
    assert matches(parse("{ $.flag = false }"), rec)
    assert matches(parse("{ $.none IS NULL }"), rec) and matches(parse("{ $.missing NOT EXISTS }"), rec)
    assert not matches(parse("{ $.missing != x }"), rec)  # a missing field never satisfies a comparison
    assert matches(parse('{ $.name = "Access*" }'), rec) and not matches(parse('{ $.name = "access*" }'), rec)
    assert matches(parse("{ $.name = %Denied% }"), rec)
    assert matches(parse('{ $.ip != "192.168.*" }'), rec)
    # && binds tighter than ||
    assert matches(parse("{ $.name = nope && $.flag IS TRUE || $.ip = 10.0.0.1 }"), rec)
    assert not matches(parse("{ $.name = nope && ($.flag IS TRUE || $.ip = 10.0.0.1) }"), rec)
    # text patterns: all terms, ?any, -exclusion
    assert matches(parse('"AccessDenied" -nothere'), rec) and not matches(parse("AccessDenied -10.0.0.1"), rec)
    assert matches(parse("?nothere ?Exception"), rec) and not matches(parse("?nothere ?alsonot"), rec)


def test_eventbridge_matcher():
    ev = {"source": "aws.iam", "detail-type": "AWS API Call via CloudTrail", "detail": {
        "eventName": "CreateUser", "severity": 8, "errorCode": "AccessDenied", "tags": ["a", "b"],
        "sourceIPAddress": "10.1.2.3"}}
    yes = [{"source": ["aws.iam"]}, {"detail": {"eventName": [{"prefix": "Create"}]}},
           {"detail": {"errorCode": [{"suffix": "Denied"}]}},
           {"detail": {"eventName": [{"anything-but": "DeleteUser"}]}},
           {"detail": {"severity": [{"numeric": [">=", 7, "<", 9]}]}}, {"detail": {"missing": [{"exists": False}]}},
           {"detail": {"tags": ["b"]}}, {"$or": [{"source": ["aws.s3"]}, {"detail": {"eventName": ["CreateUser"]}}]},
           {"detail": {"eventName": [{"equals-ignore-case": "createuser"}]}},
           {"detail": {"eventName": [{"wildcard": "Create*"}]}},
           {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}},
           {"detail": {"eventName": [{"anything-but": {"prefix": "Delete"}}]}},
           {"detail": {"eventName": [{"prefix": {"equals-ignore-case": "create"}}]}}]
    no = [{"source": ["aws.s3"]}, {"detail": {"eventName": [{"anything-but": ["CreateUser"]}]}},
          {"detail": {"severity": [{"numeric": [">", 8]}]}}, {"detail": {"errorCode": [{"exists": False}]}},
          {"detail": {"missing": ["x"]}}, {"detail": {"missing": [{"anything-but": "x"}]}}, {},
          {"detail": {"severity": ["8"]}}, {"detail": "CreateUser"}, {"detail": {"eventName": [{"bogus": 1}]}}]
    assert all(eb_matches(p, ev) for p in yes), [p for p in yes if not eb_matches(p, ev)]
    assert not any(eb_matches(p, ev) for p in no), [p for p in no if eb_matches(p, ev)]


def test_cloudtrail_records_become_eventbridge_events():
    [login] = [r for r in samples(ITEMS["monitoring.console-login-any"].ref, ACCOUNT)
               if r["userIdentity"]["type"] == "Root" and "errorMessage" not in r
               and r["additionalEventData"]["MFAUsed"] == "Yes"]
    ev = to_eventbridge(login)
    assert (ev["source"], ev["detail-type"]) == ("aws.signin", "AWS Console Sign In via CloudTrail")
    assert to_eventbridge(noise(ACCOUNT))["detail-type"] == "AWS API Call via CloudTrail"
    assert needs_read_only_delivery(noise(ACCOUNT)) and not needs_read_only_delivery(login)
    assert {f["detail"]["severity"] for f in guardduty_findings(ACCOUNT, "eu-west-1")} == {8.0}
