"""Collectors: one module per service, each declaring the datasets it fills and the IAM actions it calls.

A collector reads and records; it never judges. A failed read becomes a Gap on the dataset it feeds,
never an empty list. Modules in this package are discovered by `load_collectors()`.
"""
from __future__ import annotations

import importlib
import pkgutil
import threading
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from auditor.errors import classify
from auditor.guard import iam_action, is_read
from auditor.models import GLOBAL, Frozen, Gap
from auditor.registry import Registry, RegistryError

T = TypeVar("T")
R = TypeVar("R")


class Section(Frozen):
    """A service's part of the Inventory. Regional sections hold only lists, merged across regions."""

    @classmethod
    def merge(cls, parts: list[Section]) -> Section:
        if not parts:
            return cls()
        if len(parts) == 1:
            return parts[0]
        merged: dict[str, Any] = {}
        for name in cls.model_fields:
            merged[name] = [x for p in parts for x in getattr(p, name)]
        return cls(**merged)


def _error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError; None for network errors (whose `response` attribute is None)."""
    response = getattr(exc, "response", None) or {}
    return (response.get("Error") or {}).get("Code")


NOT_FOUND = object()  # an error code the caller declared as "absent", which is data, not a gap


@dataclass(frozen=True)
class CollectorSpec:
    name: str
    service: str
    regional: bool
    datasets: dict[str, tuple[str, ...]]  # dataset name -> IAM actions it needs
    section: type[Section]
    fn: Callable[[CollectContext], Section]
    after: tuple[str, ...] = ()  # collectors whose section (same region) this one reads instead of re-listing

    @property
    def permissions(self) -> list[str]:
        return sorted({a for actions in self.datasets.values() for a in actions})


COLLECTORS: Registry[CollectorSpec] = Registry("collector")
DATASETS: dict[str, CollectorSpec] = {}


def collector(name: str, *, section: type[Section], datasets: dict[str, tuple[str, ...]],
              regional: bool, service: str | None = None,
              after: tuple[str, ...] = ()) -> Callable[[Callable[..., Section]], Callable[..., Section]]:
    if regional:
        hints = typing.get_type_hints(section)
        for field in section.model_fields:
            if typing.get_origin(hints[field]) is not list:
                raise RegistryError(f"regional collector {name!r}: field {field!r} must be a list to merge regions")

    def decorate(fn: Callable[..., Section]) -> Callable[..., Section]:
        spec = CollectorSpec(name, service or name, regional, dict(datasets), section, fn, tuple(after))
        COLLECTORS.register(name, spec)
        for ds in datasets:
            if ds in DATASETS:
                raise RegistryError(f"dataset {ds!r} declared by both {DATASETS[ds].name!r} and {name!r}")
            DATASETS[ds] = spec
        return fn

    return decorate


def load_collectors() -> Registry[CollectorSpec]:
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return COLLECTORS


class CollectContext:
    """What one (collector, region) unit gets: guarded clients, paginate/call helpers, a detail pool."""

    def __init__(self, session: Any, spec: CollectorSpec, region: str, account_id: str, partition: str,
                 detail_pool: Any = None,  # anything with Executor.map: a FairPool lane, an Executor
                 upstream: dict[str, tuple[Section, list[Gap]]] | None = None) -> None:
        self.session = session
        self.spec = spec
        self.region = region
        self.account_id = account_id
        self.partition = partition
        self.gaps: list[Gap] = []
        self._pool = detail_pool
        self._lock = threading.Lock()
        self._upstream = upstream or {}
        self._clients_used: set[tuple[str, str]] = set()  # (service, region): the runner releases them when done

    def upstream(self, name: str) -> Any:
        """The section another collector (declared in `after`) produced for this region."""
        if name not in self._upstream:
            raise RegistryError(f"collector {self.spec.name!r} reads {name!r} without declaring after=({name!r},)")
        return self._upstream[name][0]

    def inherit_gaps(self, upstream_dataset: str, dataset: str) -> bool:
        """Record the upstream's failed reads of `upstream_dataset` as gaps of our `dataset`.

        Per-resource gaps carry over to that resource only; True when the whole upstream dataset is unreadable
        here, i.e. there is nothing to build on.
        """
        owner = DATASETS[upstream_dataset].name
        self.upstream(owner)  # must be declared
        found = [g for g in self._upstream[owner][1] if g.dataset == upstream_dataset]
        with self._lock:
            self.gaps.extend(g.model_copy(update={"dataset": dataset}) for g in found)
        return any(g.resource_id is None for g in found)

    @property
    def api_region(self) -> str:
        return self.session.home_region if self.region == GLOBAL else self.region

    def client(self, service: str | None = None, region: str | None = None) -> Any:
        key = (service or self.spec.service, region or self.api_region)
        with self._lock:
            self._clients_used.add(key)
        return self.session.client(*key)

    def clients_in_use(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._clients_used)

    def arn(self, service: str, resource: str, region: str | None = None, account: str | None = None) -> str:
        reg = "" if region is None else region
        acct = self.account_id if account is None else account
        return f"arn:{self.partition}:{service}:{reg}:{acct}:{resource}"

    def _declared(self, dataset: str, service: str, operation: str) -> str:
        action = iam_action(service, operation)
        if dataset not in self.spec.datasets:
            raise RegistryError(f"collector {self.spec.name!r} reads undeclared dataset {dataset!r}")
        if action not in self.spec.datasets[dataset]:
            raise RegistryError(f"collector {self.spec.name!r} calls {action} without declaring it for {dataset!r}")
        if not is_read(service, operation):
            raise RegistryError(f"collector {self.spec.name!r} declares non-read {action}")
        return action

    def _gap(self, dataset: str, client: Any, method: str, exc: BaseException, resource_id: str | None,
             region: str | None = None) -> None:
        service = client.meta.service_model.service_name
        op = client.meta.method_to_api_mapping.get(method, method)
        code, msg = classify(exc)
        gap = Gap(dataset=dataset, service=service, region=region or self.region, operation=op,
                  iam_action=iam_action(service, op), error_code=code, message=msg, resource_id=resource_id)
        with self._lock:
            self.gaps.append(gap)

    def call(self, dataset: str, client: Any, method: str, *, absent: Iterable[str] = (),
             resource_id: str | None = None, gap_region: str | None = None, **params: Any) -> Any:
        """One API call. Returns the response, NOT_FOUND for a declared-absent error, or None (gap recorded).

        `gap_region` places the gap where the resource lives when a global collector reads a regional
        resource (an S3 bucket in eu-west-1), so its ERROR finding lands in that region.
        """
        service = client.meta.service_model.service_name
        self._declared(dataset, service, client.meta.method_to_api_mapping.get(method, method))
        try:
            return getattr(client, method)(**params)
        except Exception as exc:  # noqa: BLE001 - every failure must become a gap, never a crash
            if _error_code(exc) in set(absent):
                return NOT_FOUND
            self._gap(dataset, client, method, exc, resource_id, gap_region)
            return None

    def paginate(self, dataset: str, client: Any, method: str, key: str, *,
                 resource_id: str | None = None, absent: Iterable[str] = (), **params: Any) -> list[Any] | None:
        """Every item under `key` across pages, or None when any page failed (gap recorded)."""
        got = self.paginate_many(dataset, client, method, (key,), resource_id=resource_id, absent=absent, **params)
        return None if got is None else got[key]

    def paginate_many(self, dataset: str, client: Any, method: str, keys: tuple[str, ...], *,
                      resource_id: str | None = None, absent: Iterable[str] = (),
                      **params: Any) -> dict[str, list[Any]] | None:
        """Like paginate, for calls whose pages carry several lists (iam GetAccountAuthorizationDetails)."""
        service = client.meta.service_model.service_name
        self._declared(dataset, service, client.meta.method_to_api_mapping.get(method, method))
        out: dict[str, list[Any]] = {k: [] for k in keys}
        try:
            pages = (client.get_paginator(method).paginate(**params) if client.can_paginate(method)
                     else [getattr(client, method)(**params)])
            for page in pages:
                for k in keys:
                    out[k].extend(page.get(k, []))
            return out
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) in set(absent):
                return {k: [] for k in keys}
            self._gap(dataset, client, method, exc, resource_id)
            return None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Per-item detail calls, spread over the shared detail pool so one big region is not serial."""
        items = list(items)
        if self._pool is None or len(items) < 2:
            return [fn(x) for x in items]
        return list(self._pool.map(fn, items))

    def gap_for(self, dataset: str, reason: BaseException) -> None:
        """Record that a whole dataset could not be read (e.g. the collector itself failed)."""
        code, msg = classify(reason)
        with self._lock:
            self.gaps.append(Gap(dataset=dataset, service=self.spec.service, region=self.region,
                                 operation="(collector)", iam_action=", ".join(self.spec.datasets[dataset]),
                                 error_code=code, message=msg))
