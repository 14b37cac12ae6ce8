"""Unmanned checkout benchmark: seeded store scenarios for each checkout model.

Each run starts a hub with its managed Mosquitto for the model's demo store
(configs/unmanned-<model>.toml), plays N shoppers (put-backs, wrong-shelf put-backs,
crowding at one shelf, RFID misses and cross-reads, camera misses, scale noise, a
thief, a declined payment; optionally a fire alarm), lets staff work the review
queue with the truth in hand, and scores every session's charges against what the
shopper really carried out (simulators/store/runner.py).

Reported per model: share of honest sessions billed exactly right (after review),
share of sessions whose charge went through review (their bill, or a disputed pick
staff charged to them), the reviews staff worked (a dispute among several shoppers is
one; a declined card's bill is one too), review outcomes (confirmed as billed / corrected), wrong
charges made without review, unpaid exits without an alarm (must be 0), thieves
stopped, and exit-request-to-door-open p50/p99 (seen from the door).
Goals: >= 99 % exact, <= 2 % reviewed, 0 silent unpaid exits, exit p99 < 1 s.

    .venv/bin/python -m bench.checkout [--models grab_and_go,rfid_box,exit_gate]
        [--seeds 5] [--first-seed 1] [--shoppers 20] [--fire] [--no-reach] [--no-stance]
        [--vision-miss F] [--track-miss F] [--overhead-miss F] [--overhead-swap F]
        [--side-reach F] [--crowd-at shelf|slot] [--reasons]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import subprocess
import sys
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from simulators.store.report import Outcome, Report
from simulators.store.shoppers import Knobs

MODELS = ("grab_and_go", "rfid_box", "exit_gate")
#: The scenario's sensor-fault rates, each a flag of the same name (``--vision-miss``).
RATES = {
    "vision_miss": "share of hands the shelf camera misses",
    "track_miss": "share of hands seen without whose they are",
    "overhead_miss": "share of arms going into a slot the overhead tracking misses (1: none)",
    "overhead_swap": "share of arms the overhead tracking gives to another shopper in reach",
    "side_reach": "share of hands that go into the slot beside the one the shopper stands at",
}
#: A run that takes longer is reported as hung (and left out), not waited for.
RUN_TIMEOUT_S = 300.0


def combine(reports: list[Report]) -> dict[str, Any]:
    sums: dict[str, Any] = {}
    lat = sorted(o.latency for r in reports for o in r.outcomes if o.latency is not None)
    for r in reports:
        for k, v in r.summary().items():
            if isinstance(v, int) and not isinstance(v, bool):
                sums[k] = sums.get(k, 0) + v
    sums["exit_p50_s"] = lat[len(lat) // 2] if lat else None
    sums["exit_p99_s"] = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None
    return sums


def run_isolated(knobs: Knobs) -> Report | None:
    """One scenario in its own process (simulators/store/play.py), so that a run that
    hangs is killed after RUN_TIMEOUT_S and named instead of stopping the bench."""
    cmd = [sys.executable, "-m", "simulators.store.play", knobs.to_json()]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    summary = data["summary"]
    return Report(
        knobs, [Outcome(**o) for o in data["outcomes"]], summary["seconds"], summary["reviews"]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument(
        "--first-seed",
        type=int,
        default=1,
        help="seeds first..first+seeds-1 (each shopper's visit is the same for a seed: "
        "play one that went wrong again with --first-seed N --seeds 1)",
    )
    ap.add_argument("--shoppers", type=int, default=20)
    ap.add_argument("--fire", action="store_true", help="a fire alarm in every run")
    ap.add_argument(
        "--no-reach",
        action="store_true",
        help="shelves report who stands there, not which slots each can reach",
    )
    ap.add_argument(
        "--no-stance",
        action="store_true",
        help="shelves do not report which slot each shopper stands in front of",
    )
    for knob, help_ in RATES.items():
        ap.add_argument(
            "--" + knob.replace("_", "-"), type=float, default=getattr(Knobs(), knob), help=help_
        )
    ap.add_argument(
        "--reasons",
        action="store_true",
        help="list why each reviewed session went to review, and what staff did",
    )
    ap.add_argument(
        "--crowd-at",
        choices=["shelf", "slot"],
        default="shelf",
        help="the crowd spreads over one shelf's slots, or all reach into one slot",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    console = Console(width=170)
    rows: dict[str, dict[str, Any]] = {}
    models = [m for m in args.models.split(",") if m]
    hung: list[str] = []
    with Progress(console=console) as progress:
        task = progress.add_task("scenarios", total=len(models) * args.seeds)
        for model in models:
            reports = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                knobs = Knobs(
                    model=model,
                    shoppers=args.shoppers,
                    seed=seed,
                    fire_at=4.0 if args.fire else None,
                    reach=not args.no_reach,
                    stance=not args.no_stance,
                    crowd_at=args.crowd_at,
                    **{knob: getattr(args, knob) for knob in RATES},
                )
                report = run_isolated(knobs)
                if report is None:
                    hung.append(f"{model} seed {seed}")
                    progress.console.print(f"{model} seed {seed}: hung, left out")
                else:
                    reports.append(report)
                    s = report.summary()
                    progress.console.print(
                        f"{model} seed {seed}: {s['shoppers']} shoppers, {s['exact']}/"
                        f"{s['honest']} exact, {s['reviewed']} reviewed, {s['seconds']} s"
                    )
                    for o in report.outcomes if args.reasons else ():
                        if o.reviewed:
                            progress.console.print(
                                f"  shopper {o.shopper} ({o.review_outcome or o.exit}):"
                                f" {o.review_reason}",
                                markup=False,
                            )
                        elif not o.exact and not o.thief:
                            progress.console.print(
                                f"  shopper {o.shopper} (wrong, not reviewed): charged"
                                f" {o.charged}, took {o.truth}",
                                markup=False,
                            )
                            for ln in o.trace:
                                progress.console.print(f"    {ln}", markup=False)
                progress.advance(task)
            rows[model] = combine(reports)
    last = args.first_seed + args.seeds - 1
    seeds = f"seeds {args.first_seed}-{last}"
    table = Table(title=f"unmanned checkout, {seeds} x {args.shoppers} shoppers"
                  + (" with a fire alarm" if args.fire else "")
                  + (", shelves without reach" if args.no_reach else "")
                  + (", without where shoppers stand" if args.no_stance else "")
                  + f", camera misses {args.vision_miss:g} / {args.track_miss:g}"
                  + f", overhead misses / swaps {args.overhead_miss:g} / {args.overhead_swap:g}"
                  + f", side reaches {args.side_reach:g}"
                  + f", crowd at one {args.crowd_at}")  # fmt: skip
    for col in ("model", "sessions", "exact", "reviewed", "reviews", "confirmed/corrected",
                "wrong w/o review", "silent unpaid exits", "thieves caught",
                "declined", "stuck", "exit p50", "exit p99"):  # fmt: skip
        table.add_column(col)
    for model, s in rows.items():

        def pct(n: int, d: int) -> str:
            return f"{n}/{d} = {100 * n / d:.1f} %" if d else "-"

        table.add_row(
            model,
            str(s["shoppers"]),
            pct(s["exact"], s["honest"]),
            pct(s["reviewed"], s["shoppers"]),
            str(s["reviews"]),
            f"{s['confirmed']}/{s['corrected']}",
            str(s["wrong_auto_charges"]),
            str(s["silent_unpaid_exits"]),
            f"{s['thieves_caught']}/{s['thieves']} ({s['thieves_alarmed']} by alarm)",
            str(s["declined"]),
            str(s.get("stuck", 0)),
            f"{s['exit_p50_s'] * 1000:.0f} ms" if s["exit_p50_s"] is not None else "-",
            f"{s['exit_p99_s'] * 1000:.0f} ms" if s["exit_p99_s"] is not None else "-",
        )
    console.print(table)
    console.print(
        f"machine: {platform.node()} {platform.machine()}, python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
