"""Denying one service's reads turns exactly that service's checks into ERROR; everything else is unchanged."""
from __future__ import annotations

import pytest

from auditor.collectors import DATASETS
from auditor.demo import build_demo_account
from auditor.models import Status
from auditor.runner import select_checks
from auditor.session import AuditSession
from tests.conftest import deny, scan

REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture(scope="module")
def demo_world():
    from moto import mock_aws

    with mock_aws():
        build_demo_account()
        baseline = scan(AuditSession(region="us-east-1", workers=4, max_attempts=2), ["*"], REGIONS)
        yield baseline


@pytest.mark.parametrize("service", ["kms", "ec2", "iam", "s3"])
def test_denying_one_service(demo_world, service):
    specs = select_checks(["*"])
    hit = {s.id for s in specs if any(DATASETS[d].service in (service, f"{service}control") for d in s.needs)}
    if not hit:
        pytest.skip(f"no collector for {service} yet")
    session = AuditSession(region="us-east-1", workers=4, max_attempts=2)
    deny(session, f"{service}.*", f"{service}control.*")
    result = scan(session, ["*"], REGIONS)
    for f in result.findings:
        if f.check_id in hit:
            assert f.status is Status.ERROR, (f.check_id, f.message)
    untouched = lambda r: [f for f in r.findings if f.check_id not in hit]  # noqa: E731
    assert untouched(result) == untouched(demo_world)
    assert not result.summary.complete
