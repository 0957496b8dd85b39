from __future__ import annotations

import pytest

from auditor import atomic
from auditor.atomic import write_atomic


def test_text_gets_exactly_one_final_newline(tmp_path):
    assert write_atomic(tmp_path / "a.txt", "x").read_text() == "x\n"
    assert write_atomic(tmp_path / "b.txt", "x\n").read_text() == "x\n"
    assert write_atomic(tmp_path / "c.txt", iter(["a", "b\n", ""])).read_text() == "ab\n"


def test_large_text_is_written_whole_in_slices(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_CHUNK", 7)
    text = "".join(f"line {i}\n" for i in range(100))
    assert write_atomic(tmp_path / "big.txt", text).read_text() == text


def test_failing_pieces_leave_the_previous_file(tmp_path):
    target = write_atomic(tmp_path / "report.json", "good")

    def pieces():
        yield "half"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, pieces())
    assert target.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
