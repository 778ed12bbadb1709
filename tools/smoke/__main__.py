"""`make smoke`: after `cdk deploy --all` to a sandbox account, check notices and run each architecture's path.

Per architecture: a temporary queue subscribed to the stack's topic receives one alarm's notice
(tools/smoke/notices.py), then the architecture's real path runs.

    python -m tools.smoke [--only redshift_ml|model_quality|churn_model] [--keep] [--profile P] [--region R]
                          [--environment E]
    python -m tools.smoke --day2 [--kit-profile sandbox|production] [--keep] [--profile P] [--region R]
                          [--environment E]

`--day2` deploys, runs, changes one in-place setting, runs again, destroys and reports what the kit's tags still
find (tools/smoke/day2.py): it deploys and destroys the stacks itself, so run it in a sandbox account only.

Credentials and region come from the usual AWS environment (AWS_PROFILE, AWS_REGION, ...) unless given.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import lru_cache
from typing import Any, Mapping

from tools.cost.estimate import PriceTable
from tools.smoke import churn
from tools.smoke.core import Clock, Run
from tools.smoke.day2 import kit_tags, npx_cdk, run_day2
from tools.smoke.notices import prove_delivery
from tools.smoke.runner import ARCHITECTURES, exit_code, render, run_smoke


def session_for(profile: str | None, region: str | None, environ: Mapping[str, str] = os.environ) -> Any:
    """A boto3 Session whose region is chosen as the AWS CLI v2 chooses it: `--region`, then `AWS_REGION`, then
    `AWS_DEFAULT_REGION`, then the profile's config. boto3 alone reads only the last two (botocore's config
    provider maps `region` to AWS_DEFAULT_REGION), so `export AWS_REGION=...` would leave it without a region
    (https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html)."""
    import boto3

    return boto3.Session(profile_name=profile, region_name=region or environ.get("AWS_REGION") or None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(ARCHITECTURES), help="run one architecture")
    parser.add_argument("--keep", action="store_true", help="leave what the run created (data, endpoint) in place")
    parser.add_argument("--profile", help="AWS named profile (default: the environment's)")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument(
        "--environment", default="", help="the kit:environment the stacks were deployed with (default: none)"
    )
    parser.add_argument(
        "--day2",
        action="store_true",
        help="deploy, run, change one in-place setting, run again, destroy, report what the kit's tags still find",
    )
    parser.add_argument(
        "--kit-profile", choices=("sandbox", "production"), default="sandbox", help="the kit profile --day2 deploys"
    )
    args = parser.parse_args(argv)
    if args.day2 and args.only:
        parser.error("--day2 runs every architecture; leave out --only")

    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    session = session_for(args.profile, args.region)
    if not session.region_name:
        print("smoke: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or pass --region", file=sys.stderr)
        return 2
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=70)

    @lru_cache(maxsize=None)
    def clients(service: str):
        return session.client(service, config=config)

    try:
        identity = clients("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        print(f"smoke: no usable AWS credentials ({error}); set AWS_PROFILE or pass --profile", file=sys.stderr)
        return 2
    print(f"smoke: account {identity['Account']}, region {session.region_name}, as {identity['Arn']}")
    prices = PriceTable.load()
    if args.day2:
        runs = day2(clients, session.region_name, prices, args.kit_profile, args.environment, args.keep)
    else:
        runs = run_smoke(
            clients,
            session.region_name,
            only=args.only,
            keep=args.keep,
            prices=prices,
            notices=prove_delivery,
            environment=args.environment,
        )
    print(render(runs, session.region_name, prices), end="")
    return exit_code(runs)


def day2(clients: Any, region: str, prices: PriceTable, kit_profile: str, environment: str, keep: bool) -> list[Run]:
    """`--day2` with the real `npx cdk`; the paths keep what they made, since `cdk destroy` follows."""
    context = ["-c", f"profile={kit_profile}", *(["-c", f"kit:environment={environment}"] if environment else [])]

    def paths(only: str | None) -> list[Run]:
        return run_smoke(
            clients,
            region,
            only=only,
            keep=True,
            prices=prices,
            notices=prove_delivery,
            environment=environment,
            kept="left to cdk destroy (--day2)",
        )

    return run_day2(
        Run("day 2", Clock()),
        clients,
        region,
        cdk=npx_cdk,
        context=context,
        paths=paths,
        kit_tags=kit_tags(kit_profile, environment),
        keep=keep,
        stack=f"{environment}-{churn.STACK}" if environment else churn.STACK,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
