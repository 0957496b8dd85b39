from __future__ import annotations

import json

import boto3
import pytest

from auditor.collectors.sso import DEFAULT_SESSION_SECONDS, duration_seconds
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.runner import collect, select_checks
from auditor.session import AuditSession
from tests.collectors.test_iam import recorded
from tests.conftest import deny


def _inventory(session: AuditSession, regions: list[str] | None = None) -> Inventory:
    inv = collect(session, select_checks(["identity.federation-configured"]), regions or ["us-east-1"],
                  AuditConfig(workers=4))
    # the check also pulls in the iam collector, whose ListOrganizationsFeatures moto lacks: not this file's concern
    return inv.model_copy(update={"gaps": [g for g in inv.gaps if g.dataset.startswith("sso.")]})


def _permission_set(name: str, duration: str | None = None, region: str = "us-east-1") -> str:
    sso = boto3.client("sso-admin", region_name=region)
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    extra = {"SessionDuration": duration} if duration else {}
    return sso.create_permission_set(InstanceArn=instance, Name=name, **extra)["PermissionSet"]["PermissionSetArn"]


@pytest.mark.parametrize(("raw", "seconds"), [("PT1H", 3600), ("PT12H", 43200), ("PT8H30M", 30600),
                                              ("PT900S", 900), ("P1D", None), ("PT", None), (None, None)])
def test_duration_parsing(raw, seconds):
    assert duration_seconds(raw) == seconds


def test_instances_and_permission_sets_with_session_durations(session):
    admin = _permission_set("Admin", "PT12H")
    _permission_set("ReadOnly")
    inv = _inventory(session)
    assert inv.gaps == []
    [instance] = inv.sso.instances  # moto: every region has one ACTIVE instance
    assert (instance.status, instance.region, instance.resource_type) == ("ACTIVE", "us-east-1", "AWS::SSO::Instance")
    sets = {p.name: p for p in inv.sso.permission_sets}
    assert sets["Admin"].arn == admin and sets["Admin"].instance_arn == instance.arn
    assert (sets["Admin"].session_duration, sets["Admin"].session_seconds) == ("PT12H", 43200)
    assert sets["ReadOnly"].session_seconds == DEFAULT_SESSION_SECONDS  # moto: 3600 as a number; AWS: omitted
    assert all(p.described and p.region == "us-east-1" for p in sets.values())


def test_regional_records_merge_in_region_order(session):
    _permission_set("Eu", "PT2H", region="eu-west-1")
    inv = _inventory(session, ["us-east-1", "eu-west-1"])
    assert [i.region for i in inv.sso.instances] == ["eu-west-1", "us-east-1"]
    assert [(p.name, p.region) for p in inv.sso.permission_sets] == [("Eu", "eu-west-1")]


def test_describe_denied_keeps_the_set_and_names_it_in_a_gap(session):
    arn = _permission_set("Admin", "PT12H")
    deny(session, "sso-admin.DescribePermissionSet")
    inv = _inventory(session)
    [gap] = inv.gaps
    assert (gap.dataset, gap.iam_action, gap.resource_id) == ("sso.permission_sets", "sso:DescribePermissionSet", arn)
    [ps] = inv.sso.permission_sets
    assert (ps.arn, ps.described, ps.session_seconds) == (arn, False, None)


@pytest.mark.parametrize(("op", "dataset"), [("ListInstances", "sso.instances"),
                                             ("ListPermissionSets", "sso.permission_sets")])
def test_list_denied_is_a_region_gap(session, op, dataset):
    _permission_set("Admin")
    deny(session, f"sso-admin.{op}")
    inv = _inventory(session)
    assert [(g.dataset, g.iam_action, g.resource_id) for g in inv.gaps] == [(dataset, f"sso:{op}", None)]


def test_snapshot_round_trips(session):
    _permission_set("Admin", "PT4H")
    inv = _inventory(session)
    assert Inventory.model_validate(json.loads(inv.model_dump_json())).sso == inv.sso


def test_omitted_session_duration_is_the_aws_default(session):
    arn = _permission_set("Legacy")
    recorded(session, "sso-admin.DescribePermissionSet", {"PermissionSet": {"Name": "Legacy", "PermissionSetArn": arn}})
    [ps] = _inventory(session).sso.permission_sets
    assert (ps.session_duration, ps.session_seconds, ps.described) == (None, DEFAULT_SESSION_SECONDS, True)
