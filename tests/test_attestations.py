from __future__ import annotations

from datetime import date

import pytest

from auditor.attestations import apply_attestations, load_attestations
from auditor.catalog import catalog
from auditor.config import ConfigError
from auditor.models import Status
from tests.conftest import scan

ITEM = next(i for i in catalog() if i.startswith("manual.use-iam-users-only"))
OTHER = next(i for i in catalog() if i.startswith("manual.use-internal-penetration"))


def _file(tmp_path, body):
    p = tmp_path / "att.toml"
    p.write_text(body)
    return p


GOOD = f"""
[[attestation]]
item = "{ITEM}"
answer = "yes"
by = "Jane Doe <jane@example.com>"
date = 2026-11-01
expires = 2027-05-01
evidence = "https://wiki.example.com/break-glass"

[[attestation]]
item = "{OTHER}"
answer = "no"
by = "Jane Doe"
date = 2026-01-01
expires = 2026-06-01
evidence = "https://wiki.example.com/pentest"
"""


@pytest.fixture
def result(session):
    from auditor.config import AuditConfig
    from auditor.runner import build_result, collect, select_checks

    specs = select_checks(["kms.no-pending-deletion"])
    inv = collect(session, specs, ["us-east-1"], AuditConfig(workers=2))
    return build_result(inv, specs, AuditConfig(), inv.collected_at, include_manual=True)


def test_live_yes_becomes_pass_and_expired_stays_manual(result, tmp_path):
    atts = load_attestations(_file(tmp_path, GOOD))
    out = apply_attestations(result, atts, date(2026, 11, 25))
    by_id = {f.check_id: f for f in out.findings}
    assert by_id[ITEM].status is Status.PASS
    assert by_id[ITEM].attestation["evidence"] == "https://wiki.example.com/break-glass"
    assert by_id[OTHER].status is Status.MANUAL  # expired on 2026-06-01
    assert any("expired on 2026-06-01" in w for w in out.warnings)
    assert out.summary.by_status["PASS"] == result.summary.by_status["PASS"] + 1


def test_answer_no_is_a_fail(result, tmp_path):
    atts = load_attestations(_file(tmp_path, GOOD))
    out = apply_attestations(result, atts, date(2026, 3, 1))
    assert {f.check_id: f.status for f in out.findings}[OTHER] is Status.FAIL


@pytest.mark.parametrize("body,match", [
    ('[[attestation]]\nitem = "manual.nope"\nanswer="yes"\nby="x"\ndate=2026-01-01\nexpires=2027-01-01\n'
     'evidence="e"\n', "matches no manual item"),
    ('[[attestation]]\nitem = "manual.*"\nanswer="maybe"\nby="x"\ndate=2026-01-01\nexpires=2027-01-01\n'
     'evidence="e"\n', "attestation 1: answer"),
    ('[[attestation]]\nitem = "manual.*"\nanswer="yes"\nby="x"\ndate=2026-01-01\nexpires=2025-01-01\n'
     'evidence="e"\n', "expires is before date"),
    ("not toml", "not valid TOML"),
])
def test_bad_files_are_one_line_errors(tmp_path, body, match):
    with pytest.raises(ConfigError, match=match) as exc:
        load_attestations(_file(tmp_path, body))
    assert "\n" not in str(exc.value)


def test_scan_without_attestations_lists_manual_items(session):
    res = scan(session, ["kms.no-pending-deletion"])
    assert all(f.status is not Status.MANUAL for f in res.findings)  # scan helper leaves manual items out
