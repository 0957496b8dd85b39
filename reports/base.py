"""The renderer interface (after pip-audit's output formats): a result in, text out. Writing files is the CLI's job."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from auditor.models import AuditResult


class Renderer(ABC):
    name: str = ""
    suffix: str = ""

    @abstractmethod
    def render(self, result: AuditResult) -> str:
        """The whole report as text."""

    def render_files(self, result: AuditResult, stem: str) -> dict[str, str | Iterator[str]]:
        """File name -> content (text, or its pieces in order). One file by default; SARIF splits when GitHub's
        limits would be exceeded."""
        return {f"{stem}{self.suffix}": self.render(result)}
