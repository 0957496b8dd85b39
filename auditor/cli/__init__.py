"""The `auditor` command. The only package that imports rich."""
from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence

from auditor.cli.commands import COMMANDS, build_parser
from auditor.config import ConfigError
from auditor.errors import CredentialError
from auditor.gcfreeze import own_process
from auditor.malloc import limit_arenas
from auditor.registry import RegistryError
from auditor.scan import EXIT_USAGE

EXIT_INTERNAL = 4


def _terminate(signum: int, _frame: object) -> None:
    # Unwind like Ctrl-C so atomic writes clean up their temp files; the old report stays.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.debug:
        logging.getLogger("botocore").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, _terminate)
    limit_arenas()  # before the scan starts its threads
    try:
        if argv is None:  # this process is the auditor (console script, python -m), not a test calling main()
            own_process()
        return COMMANDS[args.command](args)
    except (ConfigError, CredentialError, RegistryError) as exc:
        print(f"auditor: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("auditor: interrupted; no report was changed", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"auditor: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return EXIT_INTERNAL
