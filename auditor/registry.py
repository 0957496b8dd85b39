"""A tiny registry (after cloud-custodian's c7n/registry.py) and the @check decorator."""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from auditor.catalog import catalog
from auditor.models import Finding, Severity

T = TypeVar("T")


class RegistryError(Exception):
    """A plugin was declared wrongly; raised at import so it can never ship silently."""


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, key: str, item: T) -> T:
        if key in self._items:
            raise RegistryError(f"duplicate {self.kind} id {key!r}")
        self._items[key] = item
        return item

    def get(self, key: str) -> T:
        try:
            return self._items[key]
        except KeyError:
            raise RegistryError(f"unknown {self.kind} {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def keys(self) -> list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)


CheckFn = Callable[..., Iterator[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    severity: Severity
    needs: tuple[str, ...]
    fn: CheckFn
    wants_config: bool
    optional: tuple[str, ...] = ()  # collected, but a failed read does not turn findings into ERROR

    @property
    def title(self) -> str:
        return catalog()[self.id].title

    @property
    def rationale(self) -> str:
        return (inspect.getdoc(self.fn) or "").strip()

    def run(self, inv: Any, cfg: Any) -> Iterator[Finding]:
        return self.fn(inv, cfg) if self.wants_config else self.fn(inv)


CHECKS: Registry[CheckSpec] = Registry("check")


def check(check_id: str, *, needs: tuple[str, ...], optional: tuple[str, ...] = (),
          severity: str | None = None) -> Callable[[CheckFn], CheckFn]:
    """Register a pure check bound to one checklist id.

    `needs` names the inventory datasets (e.g. "kms.keys") the check reads; a gap in any of them turns
    the affected findings into ERROR. `optional` datasets are collected too, but the check itself decides
    what their gaps mean (e.g. a SAML provider proves federation even when Identity Center is unreadable;
    see Inventory.gaps_for). Severity defaults to the catalog's.
    """
    item = catalog().get(check_id)
    if item is None or item.manual:
        raise RegistryError(f"check id {check_id!r} is not an automatable item of the checklist")
    if not needs:
        raise RegistryError(f"check {check_id!r} declares no inventory needs")

    def decorate(fn: CheckFn) -> CheckFn:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(params) not in (1, 2):
            raise RegistryError(f"check {check_id!r}: takes (inventory) or (inventory, config)")
        sev = Severity(severity) if severity else item.severity
        CHECKS.register(check_id, CheckSpec(check_id, sev, tuple(needs), fn, len(params) == 2, tuple(optional)))
        return fn

    return decorate
