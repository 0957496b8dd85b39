"""The frozen snapshot checks read: identity, regions, one Section per collector, and the gaps."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import SerializeAsAny, model_validator

from auditor.collectors import COLLECTORS, Section, load_collectors
from auditor.models import GLOBAL, Frozen, Gap, Identity, ResourceRef


class Inventory(Frozen):
    identity: Identity
    regions: list[str]
    collected_at: datetime
    datasets: list[str]  # datasets collected in this snapshot
    sections: dict[str, SerializeAsAny[Section]]
    gaps: list[Gap] = []
    api_calls: dict[str, int] = {}

    @model_validator(mode="before")
    @classmethod
    def _typed_sections(cls, data: Any) -> Any:
        # A saved snapshot holds plain dicts; give each back its collector's section model.
        if isinstance(data, dict) and isinstance(data.get("sections"), dict):
            load_collectors()
            typed = {}
            for name, value in data["sections"].items():
                if isinstance(value, dict):
                    if name not in COLLECTORS:
                        raise ValueError(f"inventory has unknown section {name!r}")
                    value = COLLECTORS.get(name).section.model_validate(value)
                typed[name] = value
            data = {**data, "sections": typed}
        return data

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections") if "sections" in self.__dict__ else None
        if sections is not None and name in sections:
            return sections[name]
        if sections is not None and name in COLLECTORS:
            return COLLECTORS.get(name).section()  # not collected: checks needing it are ERROR anyway
        return super().__getattr__(name)  # type: ignore[misc]

    def gaps_for(self, *datasets: str) -> list[Gap]:
        """Failed reads of these datasets, for checks that judge optional data themselves."""
        return [g for g in self.gaps if g.dataset in datasets]

    @property
    def account_id(self) -> str:
        return self.identity.account_id

    @property
    def partition(self) -> str:
        return self.identity.partition

    def account(self) -> ResourceRef:
        """The account itself, for account-level findings."""
        return ResourceRef(arn=f"arn:{self.partition}:iam::{self.account_id}:root", id=self.account_id,
                           type="AWS::::Account", region=GLOBAL)

    def setting(self, service: str, setting: str, region: str = GLOBAL) -> ResourceRef:
        """An account-level or region-level setting, e.g. EBS default encryption in eu-west-1.

        The synthetic ARN never changes shape: SARIF fingerprints and baselines are keyed on it.
        """
        reg = "" if region == GLOBAL else region
        return ResourceRef(arn=f"arn:{self.partition}:{service}:{reg}:{self.account_id}:account-setting/{setting}",
                           id=setting if region == GLOBAL else f"{setting}/{region}",
                           type="AWS::::AccountSetting", region=region)
