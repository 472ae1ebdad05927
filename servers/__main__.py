"""`python -m servers serve [--config FILE]` runs the API with waitress; `python -m servers stack` runs
waitress + Nginx (servers/stack.py)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    parser = argparse.ArgumentParser(prog="python -m servers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API with waitress")
    serve.add_argument(
        "--config", help="server TOML (default: $SURVEILLANCE_SERVER_CONFIG or servers/configs/config.toml)"
    )
    commands.add_parser(
        "stack",
        add_help=False,
        help="serve the API and the web client behind Nginx (`python -m servers stack --help`)",
    )
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["stack"]:  # the launcher parses its own options
        from servers.stack import main as stack_main

        return stack_main(args[1:])
    options = parser.parse_args(args)
    from inferences.errors import exit_status
    from servers.app import create_app
    from servers.wsgi import serve as run

    def serve() -> int:
        run(create_app(options.config))  # a bad server or engine config fails before serving
        return 0

    return exit_status(serve)


if __name__ == "__main__":
    sys.exit(main())
