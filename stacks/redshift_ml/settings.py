"""Settings of the Redshift ML recommender: profile defaults and validation (`-c kit:redshift_<name>=<value>`).

In an app without profiles or context: `RedshiftMlSettings.for_profile("sandbox", redshift_base_capacity=16)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from ..common.config import (
    OVERRIDE_PREFIX,
    ArchitectureSettings,
    ConfigError,
    ProfileDefaults,
    require_choice,
    require_emails,
    require_existing_data,
    require_range,
)

# Redshift Serverless base capacities (RPUs); 4 only in regions that offer it.
REDSHIFT_BASE_CAPACITIES = (4, *range(8, 513, 8))
# Redshift Serverless needs subnets in at least three Availability Zones whose AZ IDs it supports
# (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html).
REDSHIFT_MIN_AVAILABILITY_ZONES = 3
AVAILABILITY_ZONE_NAME_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$")


@dataclass(frozen=True)
class RedshiftMlSettings(ArchitectureSettings):
    """The recommender's settings and the common ones (`common`). Defaults live in PROFILE_DEFAULTS, not here."""

    # Redshift Serverless base capacity in RPUs: 8 to 512 in steps of 8 (4 where the region offers it).
    redshift_base_capacity: int
    # Daily RPU-hour usage limit that deactivates the workgroup until the next day; 0 sets no limit.
    redshift_daily_rpu_hours: int
    # Route COPY, UNLOAD and Redshift ML traffic through the VPC (needs its endpoints; production).
    redshift_enhanced_vpc_routing: bool
    # Load the synthetic job-matching data at deploy time (replaces the tables' rows on every deploy).
    redshift_sample_data: bool
    # Availability Zone names (comma-separated) of the warehouse's new VPC: at least three, each mapping to an AZ ID
    # Redshift Serverless supports; empty: the region's first three (deploys fail in regions with fewer).
    redshift_availability_zones: str
    # E-mail addresses (comma-separated) subscribed to the lifecycle's failure and rejection notices; empty: none.
    # Each address is its own subscription: adding one never unsubscribes the others while it awaits confirmation.
    redshift_notification_emails: str
    # Re-attach what a production destroy kept (the stack's RedeploySettings output prints the values): the data
    # key's ARN and the ML bucket's name; empty: create new ones.
    redshift_existing_key_arn: str
    redshift_existing_model_bucket: str

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {
        "sandbox": {
            "redshift_base_capacity": 8,
            "redshift_daily_rpu_hours": 8,
            "redshift_enhanced_vpc_routing": False,
            "redshift_sample_data": True,
            "redshift_availability_zones": "",
            "redshift_notification_emails": "",
            "redshift_existing_key_arn": "",
            "redshift_existing_model_bucket": "",
        },
        "production": {
            "redshift_base_capacity": 32,
            # 12 hours a day at the base capacity of 32 RPUs: a runaway query or loop stops instead of billing all day.
            "redshift_daily_rpu_hours": 384,
            "redshift_enhanced_vpc_routing": True,
            "redshift_sample_data": False,
            "redshift_availability_zones": "",
            "redshift_notification_emails": "",
            "redshift_existing_key_arn": "",
            "redshift_existing_model_bucket": "",
        },
    }

    def __post_init__(self) -> None:
        require_choice("redshift_base_capacity", self.redshift_base_capacity, REDSHIFT_BASE_CAPACITIES)
        require_range("redshift_daily_rpu_hours", self.redshift_daily_rpu_hours, 0, 100_000)
        _require_availability_zones("redshift_availability_zones", self.redshift_availability_zones)
        require_emails("redshift_notification_emails", self.redshift_notification_emails)
        require_existing_data(
            "redshift_existing_key_arn",
            self.redshift_existing_key_arn,
            {"redshift_existing_model_bucket": self.redshift_existing_model_bucket},
        )

    @property
    def redshift_availability_zone_names(self) -> tuple[str, ...]:
        """The configured AZ names, or () for the region's first three."""
        return tuple(name.strip() for name in self.redshift_availability_zones.split(",") if name.strip())


def _require_availability_zones(name: str, value: str) -> None:
    names = [zone.strip() for zone in value.split(",") if zone.strip()]
    if not names:
        return
    bad = [zone for zone in names if not AVAILABILITY_ZONE_NAME_PATTERN.match(zone)]
    if bad or len(set(names)) < REDSHIFT_MIN_AVAILABILITY_ZONES:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not allowed. Allowed: empty (the region's first three), or "
            f"at least {REDSHIFT_MIN_AVAILABILITY_ZONES} distinct Availability Zone names, comma-separated, for "
            "example us-east-1a,us-east-1b,us-east-1c, whose AZ IDs Redshift Serverless supports."
        )
