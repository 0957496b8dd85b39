"""Timestamps from AWS answers, parsed without dateutil where the format allows.

botocore parses every timestamp with dateutil.parser plus a fresh tzlocal() (~35 µs each); one page of EC2
instances, volumes or snapshots carries thousands, and that cost, under the GIL, delays every other thread's
calls. AWS sends ISO 8601 with a zone (query and XML protocols) or epoch seconds (JSON protocols): those go
through datetime.fromisoformat / fromtimestamp (~1 µs). Anything else goes to botocore's parser, as before.
The instants are the same; the zone is the one sent (UTC for "Z" and epochs) instead of the machine's own.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import botocore.session
from botocore.utils import parse_timestamp

# fromisoformat before Python 3.11 takes neither "Z" nor fractions other than 3 or 6 digits: normalize both.
_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z")


def fast_timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        m = _ISO.match(value)
        if m:
            base, fraction, zone = m.groups()
            micro = f".{(fraction + '00000')[:6]}" if fraction else ""
            try:
                return datetime.fromisoformat(base + micro + ("+00:00" if zone == "Z" else zone))
            except ValueError:  # well-formed but impossible (month 13): botocore's parser says so its own way
                pass
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass
    return parse_timestamp(value)


def use_fast_timestamps(session: botocore.session.Session) -> None:
    """Every parser the session's clients create from now on uses `fast_timestamp`."""
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=fast_timestamp)
