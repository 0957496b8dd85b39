"""Registry and catalog invariants: every check is a catalog item, tested, and served by a collector."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.catalog import catalog
from auditor.collectors import COLLECTORS, DATASETS, load_collectors
from auditor.guard import is_read
from auditor.registry import RegistryError, check
from auditor.runner import load_checks

ROOT = Path(__file__).resolve().parent.parent
SHARED_CHECKLIST = ROOT.parent / "shared" / "checklist.md"


def test_every_check_id_is_in_the_catalog_and_needs_are_served():
    specs = load_checks()
    assert specs
    for spec in specs:
        assert spec.id in catalog() and not catalog()[spec.id].manual
        assert all(d in DATASETS for d in spec.needs)


def test_every_declared_action_is_a_read():
    from auditor.guard import _ACTION

    mapped = {a for (s, o), a in _ACTION.items() if is_read(s, o)}  # e.g. budgets:ViewBudget
    load_collectors()
    for spec in COLLECTORS:
        for action in spec.permissions:
            service, op = action.split(":")
            assert action in mapped or is_read(service, op) or is_read(spec.service, op), action


def test_every_check_has_pass_fail_and_error_tests():
    """Each check id appears in a test file that also asserts PASS, FAIL and ERROR (cheap static proof)."""
    texts = {p: p.read_text() for p in (ROOT / "tests").rglob("test_*.py")}
    missing = []
    for spec in load_checks():
        files = [t for t in texts.values() if spec.id in t]
        joined = "\n".join(files)
        if not files or not all(s in joined for s in ("PASS", "FAIL", "ERROR")):
            missing.append(spec.id)
    assert missing == []


def test_unknown_id_fails_at_import():
    with pytest.raises(RegistryError, match="not an automatable item"):
        check("iam.no-such-thing", needs=("kms.keys",))


def test_duplicate_id_fails_at_import():
    load_checks()
    with pytest.raises(RegistryError, match="duplicate check"):
        check("kms.cmk-rotation", needs=("kms.keys",))(lambda inv: iter(()))


def test_missing_collector_fails_loudly(monkeypatch):
    from auditor.models import Severity
    from auditor.registry import CHECKS, CheckSpec

    load_checks()
    broken = CheckSpec("kms.no-pending-deletion", Severity.HIGH, ("nope.keys",), lambda inv: iter(()), False)
    monkeypatch.setitem(CHECKS._items, "kms.no-pending-deletion", broken)
    with pytest.raises(RegistryError, match="no collector provides"):
        load_checks()


@pytest.mark.skipif(not SHARED_CHECKLIST.exists(), reason="../shared/checklist.md not beside the repo")
def test_shipped_catalog_matches_the_checklist():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_checklist.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    fresh = gen.parse(SHARED_CHECKLIST.read_text(encoding="utf-8"))
    shipped = json.loads((ROOT / "auditor" / "data" / "checklist.json").read_text(encoding="utf-8"))
    assert fresh == shipped, "run: python tools/gen_checklist.py"


def test_catalog_mappings_parsed():
    root_mfa = catalog()["iam.root-mfa"]
    assert root_mfa.frameworks["cis_v7"] == ["2.5"] and "ACCT.02" in root_mfa.frameworks["ssb"]
    assert all(re.fullmatch(r"manual\.[a-z0-9-]+", i.id) for i in catalog().values() if i.manual)
