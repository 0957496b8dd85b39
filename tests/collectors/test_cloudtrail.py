from __future__ import annotations

import json
from collections import Counter

import boto3

from auditor.collectors.cloudtrail import AdvancedEventSelector, DataResource, EventSelector, FieldSelector, Trail
from auditor.config import AuditConfig
from auditor.runner import collect, select_checks
from tests.conftest import scan

BUCKET = "trail-logs-123456789012"


def _trail(name: str, region: str, multi: bool) -> str:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=f"{BUCKET}-{name}")
    ct = boto3.client("cloudtrail", region_name=region)
    arn = ct.create_trail(Name=name, S3BucketName=f"{BUCKET}-{name}", IsMultiRegionTrail=multi)["TrailARN"]
    ct.start_logging(Name=name)
    return arn


def _record_requests(session) -> Counter:
    """Count every (endpoint, operation, body) the scan sends, to prove no call is repeated."""
    sent: Counter = Counter()

    def record(model, params, **_):
        sent[(params["url"], model.name, params["body"] if isinstance(params["body"], bytes)
              else json.dumps(params["body"], sort_keys=True))] += 1
    session.boto._session.register("before-call.cloudtrail", record)
    session._clients.clear()
    return sent


def test_shadow_copies_are_listed_but_detail_is_read_once_in_home_region(session):
    multi = _trail("org-wide", "us-east-1", multi=True)
    local = _trail("eu-local", "eu-west-1", multi=False)
    sent = _record_requests(session)
    result = scan(session, ["cloudtrail.multi-region-logging"], regions=["us-east-1", "eu-west-1"])
    assert all(n == 1 for n in sent.values()), sent
    ops = Counter((url.split(".")[1], op) for url, op, _ in sent)
    assert ops == {("us-east-1", "DescribeTrails"): 1, ("eu-west-1", "DescribeTrails"): 1,
                   ("us-east-1", "GetTrailStatus"): 1, ("us-east-1", "GetEventSelectors"): 1,
                   ("eu-west-1", "GetTrailStatus"): 1, ("eu-west-1", "GetEventSelectors"): 1}
    assert not result.gaps
    assert {multi, local} <= {t["arn"] for f in result.findings for t in f.evidence["trails"]}


def test_collected_records(session):
    arn = _trail("org-wide", "us-east-1", multi=True)
    inv = collect(session, select_checks(["cloudtrail.multi-region-logging"]), ["us-east-1", "eu-west-1"],
                  AuditConfig(workers=2))
    home, shadow = sorted(inv.cloudtrail.trails, key=lambda t: t.is_shadow)
    assert (home.region, home.is_shadow, home.is_logging) == ("us-east-1", False, True)
    assert (shadow.region, shadow.is_shadow, shadow.is_logging, shadow.event_selectors) == \
        ("eu-west-1", True, None, None)
    assert home.ref().region == shadow.ref().region == "us-east-1"
    [unique] = inv.cloudtrail.unique_trails()
    assert unique.arn == arn and not unique.is_shadow
    assert home.latest_cloudwatch_delivery is None  # moto never reports it
    assert home.s3_bucket == f"{BUCKET}-org-wide" and home.account_id == "123456789012"


def _t(basic=None, advanced=None) -> Trail:
    return Trail(arn="arn:aws:cloudtrail:us-east-1:1:trail/t", id="t", name="t", region="us-east-1",
                 home_region="us-east-1", event_selectors=basic, advanced_event_selectors=advanced)


def _adv(**fields: list[str]) -> AdvancedEventSelector:
    return AdvancedEventSelector(field_selectors=[FieldSelector(field=k, equals=v) for k, v in fields.items()])


def test_management_events_interpretation():
    assert _t().management_events_all() is None
    assert _t([], []).management_events_all() is False  # moto's answer for a trail without selectors
    assert _t([EventSelector()], []).management_events_all() is True
    assert _t([EventSelector(read_write_type="WriteOnly")], []).management_events_all() is False
    assert _t([EventSelector(read_write_type="WriteOnly"), EventSelector(read_write_type="ReadOnly")],
              []).management_events_all() is True
    assert _t([EventSelector(include_management_events=False)], []).management_events_all() is False
    assert _t([], [_adv(eventCategory=["Management"])]).management_events_all() is True
    assert _t([], [_adv(eventCategory=["Management"], readOnly=["true"])]).management_events_all() is False
    assert _t([], [_adv(eventCategory=["Management"], readOnly=["true"]),
                   _adv(eventCategory=["Management"], readOnly=["false"])]).management_events_all() is True
    assert _t([], [_adv(eventCategory=["Data"])]).management_events_all() is False


def _fs(field: str, **ops: list[str]) -> FieldSelector:
    return FieldSelector(field=field, **ops)


def test_s3_object_events_interpretation():
    s3 = [_fs("eventCategory", equals=["Data"]), _fs("resources.type", equals=["AWS::S3::Object"])]
    adv = lambda *extra: _t([], [AdvancedEventSelector(field_selectors=[*s3, *extra])])  # noqa: E731
    assert _t().s3_object_events(read_only=False) == (None, [])
    assert adv().s3_object_events(read_only=True) == (True, [])
    assert adv(_fs("readOnly", not_equals=["true"])).s3_object_events(read_only=False) == (True, [])
    assert adv(_fs("readOnly", not_equals=["true"])).s3_object_events(read_only=True) == (False, [])
    assert adv(_fs("resources.ARN", ends_with=[".csv"])).s3_object_events(read_only=True) == (False, [])
    assert adv(_fs("resources.ARN", starts_with=["arn:aws:s3:::"])).s3_object_events(read_only=True) == (True, [])
    assert adv(_fs("resources.ARN", starts_with=["arn:aws:s3:::a/"])).s3_object_events(read_only=True) == (False, [])
    assert adv(_fs("eventName", equals=["PutObject"])).s3_object_events(read_only=False) == (False, [])
    assert adv(_fs("eventName", not_equals=["GetObjectAcl"])).s3_object_events(read_only=True) == \
        (True, ["eventName NotEquals GetObjectAcl"])
    gov = Trail(arn="arn:aws-us-gov:cloudtrail:us-gov-west-1:1:trail/t", id="t", name="t", region="us-gov-west-1",
                home_region="us-gov-west-1", advanced_event_selectors=[], event_selectors=[EventSelector(
                    data_resources=[DataResource(type="AWS::S3::Object", values=["arn:aws-us-gov:s3"])])])
    assert gov.s3_object_events(read_only=False) == (True, [])
    lambda_only = _t([EventSelector(data_resources=[DataResource(type="AWS::Lambda::Function",
                                                                 values=["arn:aws:lambda"])])], [])
    assert lambda_only.s3_object_events(read_only=False) == (False, [])
