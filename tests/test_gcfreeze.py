"""The scan freezes what it holds before collecting, and only in a process that is the auditor."""
from __future__ import annotations

import gc
import subprocess
import sys

from auditor import gcfreeze


def test_nothing_is_frozen_unless_the_process_is_the_auditor(monkeypatch):
    monkeypatch.setattr(gcfreeze, "_owner", False)
    before = gc.get_freeze_count()
    assert gcfreeze.freeze_survivors() is False and gc.get_freeze_count() == before
    monkeypatch.setattr(gcfreeze, "_owner", True)
    try:
        assert gcfreeze.freeze_survivors() is True and gc.get_freeze_count() > before
        frozen = gc.get_freeze_count()
        assert gcfreeze.freeze_survivors() is False and gc.get_freeze_count() == frozen  # once per process
    finally:
        gc.unfreeze()  # this test process is not the auditor


def test_main_owns_the_process_only_as_the_command():
    probe = ("import sys\n"
             "from auditor import cli, gcfreeze\n"
             "cli.main(['list-checks'])\n"
             "sys.stderr.write(f'with arguments: {gcfreeze._owner}\\n')\n"
             "sys.argv = ['auditor', 'list-checks']\n"
             "cli.main()\n"
             "sys.stderr.write(f'as the command: {gcfreeze._owner}\\n')\n")
    err = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stderr
    assert err.splitlines()[-2:] == ["with arguments: False", "as the command: True"]
