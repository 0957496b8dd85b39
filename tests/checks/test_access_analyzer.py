"""IAM Access Analyzer. moto does not implement the service, so its API is answered with recorded responses."""
from __future__ import annotations

from datetime import datetime, timezone

from auditor.models import Status
from tests.conftest import ACCOUNT, client_error, deny, only, recorded, scan, statuses

ENABLED = "iam.access-analyzer-enabled"
FINDINGS = "iam.access-analyzer-findings"
REGIONS = ["us-east-1", "eu-west-1"]
WHEN = datetime(2026, 5, 1, tzinfo=timezone.utc)


def analyzer(region: str, name: str = "account", kind: str = "ACCOUNT", status: str = "ACTIVE") -> dict:
    return {"arn": f"arn:aws:access-analyzer:{region}:{ACCOUNT}:analyzer/{name}", "name": name, "type": kind,
            "status": status, "createdAt": WHEN}


def finding(fid: str, resource: str, kind: str, principal: dict, public: bool) -> dict:
    return {"id": fid, "resource": resource, "resourceType": kind, "principal": principal, "isPublic": public,
            "action": ["s3:GetObject", "s3:ListBucket"], "condition": {}, "status": "ACTIVE",
            "resourceOwnerAccount": ACCOUNT, "createdAt": WHEN, "analyzedAt": WHEN, "updatedAt": WHEN,
            "sources": [{"type": "POLICY"}]}


def answer(session, analyzers: dict[str, list[dict]], findings: dict[str, list[dict]] | None = None) -> list[dict]:
    """Record ListAnalyzers (and ListFindings) per region; returns the ListFindings request bodies."""
    asked: list[dict] = []
    for region, listed in analyzers.items():
        recorded(session, "accessanalyzer.ListAnalyzers", {"analyzers": listed}, region=region)
        if findings is not None:
            def reply(body: dict, region: str = region) -> dict:
                asked.append(body)
                return {"findings": findings.get(region, [])}
            recorded(session, "accessanalyzer.ListFindings", reply, region=region)
    return asked


def test_enabled_per_region(session):
    answer(session, {"us-east-1": [analyzer("us-east-1"), analyzer("us-east-1", "unused", "ACCOUNT_UNUSED_ACCESS")],
                     "eu-west-1": [analyzer("eu-west-1", "unused", "ACCOUNT_UNUSED_ACCESS")]})
    found = {f.region: f for f in only(scan(session, [ENABLED], regions=REGIONS), ENABLED)}
    assert {r: f.status for r, f in found.items()} == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    assert found["us-east-1"].message == "Access Analyzer account (ACCOUNT) is active in us-east-1"
    assert found["eu-west-1"].message == ("no active account or organization Access Analyzer in eu-west-1 "
                                          "(only unused: ACCOUNT_UNUSED_ACCESS ACTIVE)")
    assert found["eu-west-1"].resource.id == "analyzer/eu-west-1"


def test_enabled_fails_for_an_empty_or_disabled_region(session):
    answer(session, {"us-east-1": [analyzer("us-east-1", status="DISABLED")], "eu-west-1": []})
    assert set(statuses(scan(session, [ENABLED], regions=REGIONS), ENABLED)) == {Status.FAIL}


def test_enabled_error_on_moto_and_when_denied(session):
    [f] = only(scan(session, [ENABLED]), ENABLED)  # moto answers 404 "Not yet implemented"
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    deny(session, "accessanalyzer.ListAnalyzers")
    [f] = only(scan(session, [ENABLED]), ENABLED)
    assert f.status is Status.ERROR and f.gap.iam_action == "access-analyzer:ListAnalyzers"


def test_findings_fail_per_active_finding_and_pass_when_none(session):
    public = finding("f-1", "arn:aws:s3:::public-site", "AWS::S3::Bucket", {"AWS": "*"}, True)
    shared = finding("f-2", f"arn:aws:iam::{ACCOUNT}:role/deployer", "AWS::IAM::Role", {"AWS": "444455556666"},
                     False)
    org = analyzer("us-east-1", "org", "ORGANIZATION")
    asked = answer(session, {"us-east-1": [org, analyzer("us-east-1", "unused", "ACCOUNT_UNUSED_ACCESS")],
                             "eu-west-1": [analyzer("eu-west-1")]},
                   {"us-east-1": [public, shared]})
    result = scan(session, [FINDINGS], regions=REGIONS)
    found = {f.subkey or f.region: f for f in only(result, FINDINGS)}
    assert {k: f.status for k, f in found.items()} == {"f-1": Status.FAIL, "f-2": Status.FAIL,
                                                       "eu-west-1": Status.PASS}
    assert found["f-1"].message == ("AWS::S3::Bucket arn:aws:s3:::public-site is reachable by public "
                                    "(s3:GetObject, s3:ListBucket)")
    assert found["f-1"].resource.id == "public-site" and found["f-1"].resource.type == "AWS::S3::Bucket"
    assert "reachable by AWS: 444455556666" in found["f-2"].message and found["f-2"].resource.id == "deployer"
    assert found["f-2"].evidence["analyzer"] == org["arn"] and found["f-2"].evidence["sources"] == ["POLICY"]
    # only active external-access analyzers are asked, for ACTIVE findings only
    assert sorted(b["analyzerArn"] for b in asked) == sorted([org["arn"], analyzer("eu-west-1")["arn"]])
    assert all(b["filter"] == {"status": {"eq": ["ACTIVE"]}} for b in asked)


def test_findings_not_applicable_without_an_analyzer(session):
    answer(session, {"us-east-1": [analyzer("us-east-1", "unused", "ACCOUNT_UNUSED_ACCESS")]}, {})
    [f] = only(scan(session, [FINDINGS]), FINDINGS)
    assert f.status is Status.NOT_APPLICABLE and "see iam.access-analyzer-enabled" in f.message


def test_findings_error_when_unreadable(session):
    answer(session, {"us-east-1": [analyzer("us-east-1")]})
    recorded(session, "accessanalyzer.ListFindings", client_error("AccessDeniedException", status=403))
    [f] = only(scan(session, [FINDINGS]), FINDINGS)
    assert f.status is Status.ERROR and f.gap.iam_action == "access-analyzer:ListFindings"
