"""Scan configuration: thresholds with the checklist's defaults, validated by pydantic."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """Bad configuration; the CLI prints it as one line and exits 2."""


class AuditConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # identity
    root_usage_window_days: int = Field(30, ge=1)
    credential_max_unused_days: int = Field(45, ge=1)
    access_key_max_age_days: int = Field(90, ge=1)
    password_min_length: int = Field(14, ge=6, le=128)
    password_reuse_prevention: int = Field(24, ge=1, le=24)
    password_max_age_days: int = Field(90, ge=1)
    admin_roles: list[str] = Field(default_factory=list)
    trusted_accounts: list[str] = Field(default_factory=list)
    exempt_user_tag: str = "identity-type=service"
    # network
    justification_tag: str = "public-ingress-justification"
    min_justification_chars: int = Field(20, ge=1)
    admin_ports: list[int] = Field(default_factory=lambda: [22, 3389])
    allow_admin_port_exemptions: bool = False
    # encryption
    require_customer_managed_keys: bool = False
    # collection
    workers: int = Field(16, ge=1, le=128)
    max_attempts: int = Field(8, ge=1, le=20)
    retry_mode: str = Field("adaptive", pattern="^(standard|adaptive|legacy)$")
    # evaluation clock; tests inject a fixed or future time because moto cannot back-date
    now: datetime | None = None

    def clock(self) -> datetime:
        return self.now or datetime.now(timezone.utc)

    def with_overrides(self, **kw: Any) -> AuditConfig:
        return self.model_validate({**self.model_dump(), **kw})


def load_config(path: str | Path | None) -> AuditConfig:
    if path is None:
        return AuditConfig()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
    try:
        return AuditConfig.model_validate(raw.get("auditor", raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise ConfigError(f"config file {p}: {loc}: {first['msg']}") from None
