"""Deterministic synthetic telco churn records with real signal, shaped like the classic churn sample.

Same 21 columns and value styles as the SageMaker XGBoost churn sample ("Churn?" is "True." or "False.",
about 14% True). Churn depends on what drives it in the real data: many customer-service calls, an
international plan with heavy international use, high daytime minutes, no voicemail plan. Charges are
minutes times a per-period rate (collinear, as in the original), so preprocessing drops them. Pure Python:
the CDK app generates the sandbox sample at synth time.

    python -m datagen.churn --output churn.csv [--rows 5000] [--seed 11]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from pathlib import Path

COLUMNS = (
    "State",
    "Account Length",
    "Area Code",
    "Phone",
    "Int'l Plan",
    "VMail Plan",
    "VMail Message",
    "Day Mins",
    "Day Calls",
    "Day Charge",
    "Eve Mins",
    "Eve Calls",
    "Eve Charge",
    "Night Mins",
    "Night Calls",
    "Night Charge",
    "Intl Mins",
    "Intl Calls",
    "Intl Charge",
    "CustServ Calls",
    "Churn?",
)
STATES = (
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ NM NV NY OH "
    "OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY"
).split()
AREA_CODES = (408, 415, 510)
# Per-minute rates of the original data (charge = minutes x rate).
RATES = {"Day": 0.17, "Eve": 0.085, "Night": 0.045, "Intl": 0.27}
# Intercept chosen so that about 14% of customers churn.
CHURN_INTERCEPT = -4.55


def churn_probability(
    *,
    intl_plan: bool,
    vmail_plan: bool,
    day_mins: float,
    eve_mins: float,
    intl_mins: float,
    intl_calls: int,
    custserv_calls: int,
) -> float:
    """The generating model: the probability that a customer with these usage figures churns."""
    logit = (
        CHURN_INTERCEPT
        + 2.6 * intl_plan * (1.0 + (intl_mins > 13.0) + (intl_calls < 3))
        - 1.5 * vmail_plan
        + 5.0 * max(0.0, day_mins - 210.0) / 60.0
        + 1.5 * max(0.0, eve_mins - 230.0) / 60.0
        + (3.6 if custserv_calls >= 4 else 0.25 * custserv_calls)
    )
    return 1.0 / (1.0 + math.exp(-logit))


def customer(rng: random.Random) -> list[object]:
    """One record in COLUMNS order."""
    intl_plan = rng.random() < 0.10
    vmail_plan = rng.random() < 0.28
    vmail_messages = max(0, round(rng.gauss(29, 8))) if vmail_plan else 0
    minutes = {
        "Day": max(0.0, rng.gauss(180, 54)),
        "Eve": max(0.0, rng.gauss(200, 50)),
        "Night": max(0.0, rng.gauss(200, 50)),
        "Intl": max(0.0, rng.gauss(10.2, 2.8)),
    }
    calls = {
        "Day": max(0, round(rng.gauss(100, 20))),
        "Eve": max(0, round(rng.gauss(100, 20))),
        "Night": max(0, round(rng.gauss(100, 20))),
        "Intl": max(0, round(rng.gammavariate(4.5, 1.0))),
    }
    custserv_calls = min(9, _poisson(rng, 1.55))
    churned = rng.random() < churn_probability(
        intl_plan=intl_plan,
        vmail_plan=vmail_plan,
        day_mins=minutes["Day"],
        eve_mins=minutes["Eve"],
        intl_mins=minutes["Intl"],
        intl_calls=calls["Intl"],
        custserv_calls=custserv_calls,
    )
    usage: list[object] = []
    for period in ("Day", "Eve", "Night", "Intl"):
        mins = round(minutes[period], 1)
        usage += [mins, calls[period], round(mins * RATES[period], 2)]
    return [
        rng.choice(STATES),
        max(1, round(rng.gauss(101, 40))),
        rng.choice(AREA_CODES),
        f"{rng.randint(327, 422)}-{rng.randint(1000, 9999)}",
        "yes" if intl_plan else "no",
        "yes" if vmail_plan else "no",
        vmail_messages,
        *usage,
        custserv_calls,
        "True." if churned else "False.",
    ]


def generate(output: Path, *, rows: int = 5_000, seed: int = 11) -> int:
    """Write `rows` customers with a header to `output` (CSV); the same seed gives the same bytes."""
    rng = random.Random(seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    churned = 0
    with output.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for _ in range(rows):
            record = customer(rng)
            churned += record[-1] == "True."
            writer.writerow(record)
    return churned


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    churned = generate(args.output, rows=args.rows, seed=args.seed)
    print(f"wrote {args.rows} customers ({churned / max(1, args.rows):.1%} churned) to {args.output}")


if __name__ == "__main__":
    main()
