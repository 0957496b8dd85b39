"""Keep Python's full garbage collections off the objects a scan holds from its first call to exit.

A full collection walks every container object the process tracks. When collection starts, the auditor holds
~97,000 that live until exit (modules, classes, pydantic validators, the registries, botocore's session and
endpoint data); a 10k-resource scan runs dozens of full collections (released clients and service models are
cyclic garbage) and walked those each time: 1.66 s of CPU in full collections, 0.7-1.1 s with them frozen
(several runs), peak RSS unchanged. Only in a process that is the auditor (see `own_process`): frozen objects
are never examined again, so a cycle among them that became garbage later would never be freed; a test process
must not freeze. Once per process: an organization scan freezes before its account threads start, and a later
freeze would catch other accounts' clients mid-scan, which then could never be freed.
"""
from __future__ import annotations

import gc

_owner = False


def own_process() -> None:
    """Declare that this process runs the auditor and nothing else (the CLI's own entry point)."""
    global _owner
    _owner = True


def freeze_survivors() -> bool:
    """The first time in an owned process: collect (garbage is not frozen), then exempt everything alive from
    later collections. False when nothing was frozen."""
    global _owner
    if not _owner:
        return False
    _owner = False
    gc.collect()
    gc.freeze()
    return True
