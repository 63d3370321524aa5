"""Time `make demo` after the first install, the figure the README quotes.

    python tools/bench.py [--runs 3] [--params default]

The install (`make venv`) runs first and is not timed; each run is the whole `make demo`: template
build, emulator start, deploy, wizard, the branch flow and `step-functions create`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--params", default="default")
    args = parser.parse_args()
    subprocess.run(["make", "--no-print-directory", "venv"], cwd=ROOT, check=True)
    seconds = []
    for run in range(1, args.runs + 1):
        # Each demo keeps its temporary directory for the user to look into; here they go.
        with tempfile.TemporaryDirectory() as scratch:
            started = time.monotonic()
            done = subprocess.run(
                ["make", "--no-print-directory", "demo", f"PARAMS={args.params}"],
                cwd=ROOT,
                env={**os.environ, "TMPDIR": scratch},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            elapsed = time.monotonic() - started
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        seconds.append(elapsed)
        print(f"run {run}: {seconds[-1]:.1f} s", flush=True)
    print(
        f"make demo PARAMS={args.params}: median {statistics.median(seconds):.0f} s, "
        f"max {max(seconds):.0f} s over {args.runs} runs on {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
