"""Benchmark: a kill -9 storm on real worker processes; prints kills, calls, lost and double calls.

    WAIHU_DATA_DIR=var .venv/bin/python bench/kill_cycles.py [--cycles 60] [--workers 3] [--keep DIR]

Several `waihu worker` processes call sipp customers on loopback (talkers who answer, ringers, customers
who never ring); one worker at a time is killed with SIGKILL and replaced. See
``tests/telephony/kill_cycles.py`` for the rules; the test runs 20 cycles. Exit status 1 when a
promise broke (a contact lost, a customer who answered called twice, a never-rung loss not retried).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.telephony.kill_cycles import run_storm


def main() -> None:
    """Run the storm and print its totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and the database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="waihu-kill-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        totals = run_storm(workdir, cycles=args.cycles, workers=args.workers)
    print(totals.summary())
    print(
        f"kills {totals.kills} | calls {totals.calls} | lost contacts {totals.contacts_lost} | "
        f"double calls {totals.double_calls + totals.double_answers} | "
        f"never-rung losses retried {totals.never_rang_retried}/{totals.lost_never_rang}"
    )
    for line in totals.details[:20]:
        print("  " + line)
    sys.exit(0 if totals.ok else 1)


if __name__ == "__main__":
    main()
