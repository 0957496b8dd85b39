"""The canonical JSON report: AuditResult as-is, so the published JSON Schema is the model's."""
from __future__ import annotations

import json

from auditor.models import AuditResult
from reports.base import Renderer


class JsonRenderer(Renderer):
    name = "json"
    suffix = ".json"

    def render(self, result: AuditResult) -> str:
        return result.model_dump_json(indent=2) + "\n"


def json_schema() -> str:
    return json.dumps(AuditResult.model_json_schema(), indent=2, sort_keys=True) + "\n"
