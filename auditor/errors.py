"""Turning AWS exceptions into gap codes: what a reader of the report needs to act on."""
from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoRegionError,
    UnknownEndpointError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

DENIED = "AccessDenied"
THROTTLED = "Throttled"
UNSUPPORTED = "Unsupported"
REGION_UNAVAILABLE = "RegionUnavailable"
UNREACHABLE = "Unreachable"

_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
                 "AuthorizationError", "Forbidden", "403", "AuthorizationErrorException",
                 "InsufficientPermissionsException"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
                   "TooManyRequestsException", "RequestThrottled", "SlowDown", "ProvisionedThroughputExceededException",
                   "RequestThrottledException", "BandwidthLimitExceeded"}
_REGION_CODES = {"OptInRequired", "InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure",
                 "SubscriptionRequiredException"}


class CredentialError(Exception):
    """No usable credentials / profile; the CLI prints one line and exits 2."""


def classify(exc: BaseException) -> tuple[str, str]:
    """(gap code, short message) for an exception raised by a read."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        msg = str(err.get("Message", ""))[:300]
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _DENIED_CODES:
            return DENIED, msg
        if code in _THROTTLE_CODES:
            return THROTTLED, f"throttled after retries: {msg}"
        if code in _REGION_CODES:
            return REGION_UNAVAILABLE, f"{code}: {msg}"
        lowered = msg.lower()
        if (status == 404 and ("not yet implemented" in lowered or code == "404")) or \
                (status is not None and status >= 500 and "not been implemented" in lowered):
            return UNSUPPORTED, "operation not supported by this endpoint"
        if code in {"InvalidAction", "UnknownOperationException", "UnsupportedOperation",
                    "UnsupportedOperationException"}:
            return UNSUPPORTED, f"{code}: {msg}"
        return code, msg
    if isinstance(exc, NotImplementedError):
        return UNSUPPORTED, "operation not supported by this endpoint"
    if isinstance(exc, UnknownEndpointError | NoRegionError):
        return UNSUPPORTED, str(exc)[:300]
    if isinstance(exc, EndpointConnectionError | BotoConnectionError | HTTPClientError):  # dropped, timed out
        return UNREACHABLE, str(exc)[:300]
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__, str(exc)[:300]
    return "CollectorError", f"{type(exc).__name__}: {exc}"[:300]
