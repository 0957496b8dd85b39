from __future__ import annotations

from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.runner import collect, select_checks
from tests.checks.test_edge import PLAIN, REDIRECT, _lb


def test_waf_is_asked_only_for_internet_facing_albs(session):
    public = _lb("public", listeners=[REDIRECT], waf=True)
    _lb("internal", scheme="internal", listeners=[PLAIN])
    _lb("nlb", kind="network", logs=True)
    inv = collect(session, select_checks(["edge.*"]), ["us-east-1"], AuditConfig(workers=4))
    assert inv.api_calls["wafv2:us-east-1:GetWebACLForResource"] == 1
    by_name = {lb.name: lb for lb in inv.elbv2.load_balancers}
    assert by_name["public"].arn == public and by_name["public"].web_acl_arn.startswith("arn:aws:wafv2:")
    assert by_name["internal"].web_acl_arn is None and not by_name["internal"].web_acl_read
    # moto omits access_logs.s3.enabled until it is set; absent counts as off
    assert by_name["internal"].access_logs.enabled is False and by_name["nlb"].access_logs.enabled is True
    assert by_name["public"].listeners[0].redirects_to_https
    assert inv.gaps == []
    assert Inventory.model_validate(inv.model_dump(mode="json")).elbv2 == inv.elbv2
