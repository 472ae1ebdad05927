"""`python -m servers serve [--config FILE]` runs the API with waitress; `python -m servers stack` runs
waitress + Nginx (servers/stack.py); `python -m servers worker` runs a Ray node for cameras and jobs
(docs/scale-out.md)."""

from __future__ import annotations

import argparse
import ipaddress
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
    worker = commands.add_parser("worker", help="run a Ray head or worker node (`ray start --block`)")
    worker.add_argument("--address", help="the head's host:port to join (a worker node)")
    worker.add_argument("--head", action="store_true", help="start the head node instead")
    worker.add_argument("--port", type=int, default=6379, help="the head's port (with --head)")
    worker.add_argument("--node-ip", default="", help="this node's IP address (default: Ray's choice)")
    worker.add_argument("--num-cpus", type=int, help="CPUs this node offers (default: all)")
    worker.add_argument("--num-gpus", type=int, help="GPUs this node offers (default: all)")
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["stack"]:  # the launcher parses its own options
        from servers.stack import main as stack_main

        return stack_main(args[1:])
    options = parser.parse_args(args)
    if options.command == "worker":
        return _worker(options, parser)
    from inferences.errors import exit_status
    from servers.app import create_app
    from servers.wsgi import serve as run

    def serve() -> int:
        run(create_app(options.config))  # a bad server or engine config fails before serving
        return 0

    return exit_status(serve)


def _worker(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`ray start --block` with this node's options: the head (`--head`) or a worker joining `--address`."""
    if options.head == bool(options.address):
        parser.error("worker: give either --head or --address HOST:PORT")
    try:
        loopback = bool(options.node_ip) and ipaddress.ip_address(options.node_ip).is_loopback
    except ValueError:
        parser.error(f"worker: --node-ip {options.node_ip!r} is not an IP address")
    if loopback:
        parser.error(
            "worker: --node-ip must be this machine's address on the cluster's network: Ray's CLI replaces "
            "127.0.0.1 with the interface address and listens on every interface for other loopback "
            "addresses (on one machine, run without Ray, or use ray.cluster_utils as tests/cluster does)"
        )
    command = ["start", "--block", "--disable-usage-stats"]
    command += ["--head", f"--port={options.port}", "--include-dashboard=false"] if options.head else []
    command += [f"--address={options.address}"] if options.address else []
    command += [f"--node-ip-address={options.node_ip}"] if options.node_ip else []
    command += [f"--num-cpus={options.num_cpus}"] if options.num_cpus is not None else []
    command += [f"--num-gpus={options.num_gpus}"] if options.num_gpus is not None else []
    from ray.scripts.scripts import cli

    return cli.main(command, prog_name="ray", standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main())
