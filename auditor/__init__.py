"""A strictly read-only AWS security posture auditor."""
__version__ = "0.1.0"
SCHEMA_VERSION = "1.0"
