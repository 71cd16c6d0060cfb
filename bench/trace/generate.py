"""Write a synthetic trace in the Azure Functions 2019 schema (see README.md for its shape).

    .venv/bin/python bench/trace/generate.py --days 14 --functions 1000 --out /tmp/azure-synth
    .venv/bin/python bench/trace/replay.py --days 14 --trace /tmp/azure-synth

The same seed always gives the same files.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _schema
import _synth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    fns = _synth.generate(args.functions, args.days, args.seed)
    _schema.write(fns, args.days, args.out)
    invocations = sum(fn.invocations for fn in fns)
    print(f"{args.functions} functions, {args.days} days, {invocations:,} invocations "
          f"-> {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
