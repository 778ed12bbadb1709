"""`make cost`: synthesize each profile and print its monthly cost, idle and under the stated workload.

python -m tools.cost [PROFILE ...]      (default: every profile)
"""

from __future__ import annotations

import argparse
import sys

from stacks.common.config import ConfigError
from tools.cost.estimate import PriceError, PriceTable
from tools.cost.facts import TemplateError
from tools.cost.report import estimate_profile, load_usage, measured_throughput, render
from tools.synthesis import PROFILES, synthesize, templates


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cost",
        description="Monthly cost of each architecture per profile, idle and under the stated workload, priced offline.",
    )
    parser.add_argument("profiles", nargs="*", metavar="PROFILE", help=f"one of {', '.join(PROFILES)} (default: all)")
    profiles = parser.parse_args(argv).profiles or list(PROFILES)
    unknown = [profile for profile in profiles if profile not in PROFILES]
    if unknown:
        print(f"unknown profile(s) {', '.join(unknown)}; allowed: {', '.join(PROFILES)}", file=sys.stderr)
        return 2
    prices = PriceTable.load()
    throughput = measured_throughput()
    try:
        estimates = [
            estimate_profile(profile, templates(synthesize(profile)), prices, load_usage(profile), throughput)
            for profile in profiles
        ]
    except (PriceError, TemplateError, ConfigError, KeyError) as error:
        print(f"cost model: {error}", file=sys.stderr)
        return 1
    print(render(estimates, prices), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
