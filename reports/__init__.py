"""Report renderers, by format name. Each module defines one Renderer subclass."""
from __future__ import annotations

import importlib
import pkgutil

from reports.base import Renderer


def renderers() -> dict[str, type[Renderer]]:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in ("base",):
            importlib.import_module(f"{__name__}.{mod.name}")
    found: dict[str, type[Renderer]] = {}
    stack = list(Renderer.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.name:
            found[cls.name] = cls
    return dict(sorted(found.items()))
