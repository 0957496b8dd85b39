"""The built-in demo account: a realistic first-month startup, built in in-process moto.

Each area adds its own step module here (good and bad state side by side), registered with @demo_step.
Steps write through plain boto3 (this is the account's owner setting things up, not the auditor), under
the caller's active `mock_aws`.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

DEMO_REGIONS = ("us-east-1", "eu-west-1")


@dataclass
class DemoContext:
    regions: tuple[str, ...] = DEMO_REGIONS
    notes: list[str] = field(default_factory=list)  # what was planted, shown in docs/tests
    # (service.Operation, parameter value) pairs the demo auditor may not read, as a key policy or SCP would do
    denied: list[tuple[str, str]] = field(default_factory=list)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, region_name=region)


DemoStep = Callable[[DemoContext], None]
STEPS: dict[str, DemoStep] = {}


def demo_step(name: str) -> Callable[[DemoStep], DemoStep]:
    def decorate(fn: DemoStep) -> DemoStep:
        if name in STEPS:
            raise ValueError(f"duplicate demo step {name!r}")
        STEPS[name] = fn
        return fn
    return decorate


def build_demo_account(ctx: DemoContext | None = None) -> DemoContext:
    ctx = ctx or DemoContext()
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    for name in sorted(STEPS):
        STEPS[name](ctx)
    return ctx
