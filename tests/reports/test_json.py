from __future__ import annotations

import json

from auditor.atomic import write_atomic
from reports.json_report import JsonRenderer
from tests.reports.conftest import make_result


def test_pieces_are_the_model_dump_byte_for_byte(full_result, tmp_path):
    renderer = JsonRenderer()
    assert renderer.render(full_result) == full_result.model_dump_json(indent=2)
    (name, pieces), = renderer.render_files(full_result, "report").items()
    path = write_atomic(tmp_path / name, pieces)
    assert path.read_text(encoding="utf-8") == full_result.model_dump_json(indent=2) + "\n"


def test_no_findings_is_still_the_model_dump():
    empty = make_result([])
    assert JsonRenderer().render(empty) == empty.model_dump_json(indent=2)
    assert json.loads(JsonRenderer().render(empty))["findings"] == []
