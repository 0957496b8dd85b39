"""Loading a TOML file of `[[table]]` entries into pydantic models, with one-line errors for people."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from auditor.config import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

M = TypeVar("M", bound=BaseModel)


def load_entries(path: str | Path, *, what: str, table: str, model: type[M]) -> list[M]:
    """Every `[[table]]` of the file as `model`; any problem is a ConfigError naming the entry and field."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {p}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} file {p} is not valid TOML: {exc}") from None
    extra = sorted(set(raw) - {table})
    if extra:
        raise ConfigError(f"{what} file {p}: unknown top-level key {extra[0]!r} (expected [[{table}]] tables)")
    entries = raw.get(table, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{what} file {p}: '{table}' must be an array of tables ([[{table}]])")
    out = []
    for n, entry in enumerate(entries, start=1):
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"]) or "(entry)"
            raise ConfigError(f"{what} file {p}: {table} {n}: {field}: {first['msg']}") from None
    return out
