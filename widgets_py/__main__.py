"""Command line for authors and tests.

    python -m widgets_py list
    python -m widgets_py params <type>
    python -m widgets_py run <type> [--data FILE] [--scenario NAME] [--set name=value ...]

Bad input exits with code 2 and one line on stderr naming the parameter and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn, Sequence

from . import api, registry
from .core import ParamError
from .scenarios import ScenarioError, load


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not a usage block
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _parse_sets(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ParamError(item or "--set", "expected name=value")
        out[name.strip()] = value.strip()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m widgets_py", description="Run the course's widget simulators.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list widget types")
    p_params = sub.add_parser("params", help="print a widget's parameter schema as JSON")
    p_params.add_argument("type")
    # Importing every simulator just to build help text would slow every call (and one broken module
    # would break them all): the full list is one command away.
    epilog = "parameters of a widget: python -m widgets_py params <type>"
    p_run = sub.add_parser(
        "run",
        help="simulate and print the result as JSON",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_run.add_argument("type")
    p_run.add_argument("--data", help="scenario file (JSON) with titled presets")
    p_run.add_argument("--scenario", help="scenario name in --data (default: the file's default)")
    p_run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p_run.add_argument("--charts", action="store_true", help="include the Vega-Lite chart specs")
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            for name in registry.names():
                print(f"{name}\t{registry.get(name).title}")
            return 0
        widget = registry.get(args.type)
        if args.command == "params":
            print(json.dumps(widget.schema_json(), indent=2))
            return 0
        overrides: dict[str, object] = {}
        if args.data:
            overrides.update(load(args.data, expected_type=widget.type).get(args.scenario).params)
        elif args.scenario:
            raise ParamError("--scenario", "needs --data FILE to name a scenario file")
        overrides.update(_parse_sets(args.set))
        out = api.run(widget.type, overrides)
        if not args.charts:
            out = out["result"]
        json.dump(out, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    except (ParamError, ScenarioError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
