"""Atomic file writes: a failed or interrupted run never leaves a half-written report where the last good one was."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20


def write_atomic(path: str | Path, text: str | Iterable[str]) -> Path:
    """Replace `path` with `text` (or with its pieces, in order), ending it with a newline.

    Large reports come in pieces or are written in slices: writing a 20 MB text at once would also hold a
    20 MB encoded copy of it, and adding the newline here spares callers another copy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a report should get the usual mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            last = ""
            for piece in _slices(text) if isinstance(text, str) else text:
                fh.write(piece)
                last = piece or last
            if not last.endswith("\n"):
                fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt / SIGTERM: remove the temp file, leave the old report untouched.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _slices(text: str) -> Iterable[str]:
    return (text[start:start + _CHUNK] for start in range(0, len(text), _CHUNK))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
