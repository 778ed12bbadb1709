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
    require_pattern,
    require_range,
)

# Redshift Serverless base capacities (RPUs); 4 only in regions that offer it. The documentation also allows 512 to
# 1024 in steps of 32 in five regions (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html);
# the kit stops at 512, valid in every region.
REDSHIFT_BASE_CAPACITIES = (4, *range(8, 513, 8))
# Redshift Serverless needs subnets in at least three Availability Zones whose AZ IDs it supports
# (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html).
REDSHIFT_MIN_AVAILABILITY_ZONES = 3
# AZ IDs (use1-az4) name the same zone in every account; AZ names (us-east-1a) do not
# (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html).
AVAILABILITY_ZONE_ID_PATTERN = re.compile(r"^[a-z]{2,5}\d+-az\d+$")
AVAILABILITY_ZONE_NAME_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$")
# The workgroup's maximum capacity: RPUs in steps of 8, like the base capacity, and no lower than it. Unconfirmed:
# the API reference gives no range or step for maxCapacity
# (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_CreateWorkgroup.html), and the limits in
# the management guide's max-capacity section (serverless-billing-on-demand.html) were not confirmed; the kit assumes
# the base capacity's step. A value AWS refuses fails the deploy, not the synth.
REDSHIFT_CAPACITY_STEP = 8
# Namespace names: 3 to 64 lowercase letters, digits and hyphens
# (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_UpdateNamespace.html, namespaceName).
NAMESPACE_NAME_PATTERN = re.compile(r"^[a-z0-9-]{3,64}$")


@dataclass(frozen=True)
class RedshiftMlSettings(ArchitectureSettings):
    """The recommender's settings and the common ones (`common`). Defaults live in PROFILE_DEFAULTS, not here."""

    # Redshift Serverless base capacity in RPUs: 8 to 512 in steps of 8 (4 where the region offers it).
    redshift_base_capacity: int
    # Daily RPU-hour usage limit that deactivates the workgroup until the next day; 0 sets no limit.
    redshift_daily_rpu_hours: int
    # Most RPUs the workgroup scales to (a cost ceiling beside the usage limit): 0 for the service's own, or a
    # multiple of 8 no lower than the base capacity.
    redshift_max_capacity: int
    # Route COPY, UNLOAD and Redshift ML traffic through the VPC (needs its endpoints; production).
    redshift_enhanced_vpc_routing: bool
    # Load the synthetic job-matching data when the bootstrap runs (first deploy, and any deploy that changes its SQL
    # or settings), only into empty tables: it skips tables holding that same sample and fails the deploy on others.
    redshift_sample_data: bool
    # Let the sample replace rows that are not that sample (and rewrite the recommendations): sandbox only, never with
    # retain_data; needs redshift_sample_data.
    redshift_sample_data_overwrite: bool
    # Availability Zone IDs (comma-separated, e.g. use1-az1,use1-az2,use1-az4) of the warehouse's new VPC: at least
    # three that Redshift Serverless supports; the same zones in every account. Empty: the region's first three AZ
    # names, which map to different AZ IDs per account.
    redshift_availability_zones: str
    # E-mail addresses (comma-separated) subscribed to the lifecycle's failure and rejection notices; empty: none.
    # Each address is its own subscription: adding one never unsubscribes the others while it awaits confirmation.
    redshift_notification_emails: str
    # Re-attach what a production destroy kept (the stack's RedeploySettings output prints the values): the data
    # key's ARN and the ML bucket's name; empty: create new ones.
    redshift_existing_key_arn: str
    redshift_existing_model_bucket: str
    # The kept namespace's name (its data, users and models): the stack creates its workgroup on it and makes its own
    # role the namespace's default instead of creating a namespace; needs redshift_existing_key_arn, the key the
    # namespace and its admin secret are encrypted with. Empty: a new namespace.
    redshift_existing_namespace: str

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {
        "sandbox": {
            "redshift_base_capacity": 8,
            "redshift_daily_rpu_hours": 8,
            # Four times the base: a CREATE MODEL export or a heavy query can scale, a runaway one cannot far.
            "redshift_max_capacity": 32,
            "redshift_enhanced_vpc_routing": False,
            "redshift_sample_data": True,
            "redshift_sample_data_overwrite": False,
            "redshift_availability_zones": "",
            "redshift_notification_emails": "",
            "redshift_existing_key_arn": "",
            "redshift_existing_model_bucket": "",
            "redshift_existing_namespace": "",
        },
        "production": {
            "redshift_base_capacity": 32,
            # 12 hours a day at the base capacity of 32 RPUs: a runaway query or loop stops instead of billing all day.
            "redshift_daily_rpu_hours": 384,
            "redshift_max_capacity": 128,
            "redshift_enhanced_vpc_routing": True,
            "redshift_sample_data": False,
            "redshift_sample_data_overwrite": False,
            "redshift_availability_zones": "",
            "redshift_notification_emails": "",
            "redshift_existing_key_arn": "",
            "redshift_existing_model_bucket": "",
            "redshift_existing_namespace": "",
        },
    }

    def __post_init__(self) -> None:
        require_choice("redshift_base_capacity", self.redshift_base_capacity, REDSHIFT_BASE_CAPACITIES)
        require_range("redshift_daily_rpu_hours", self.redshift_daily_rpu_hours, 0, 100_000)
        _require_max_capacity(self.redshift_max_capacity, self.redshift_base_capacity)
        _require_availability_zones("redshift_availability_zones", self.redshift_availability_zones)
        require_emails("redshift_notification_emails", self.redshift_notification_emails)
        if self.redshift_sample_data_overwrite and (self.common.retain_data or not self.redshift_sample_data):
            raise ConfigError(
                f"Setting {OVERRIDE_PREFIX}redshift_sample_data_overwrite=true is not allowed with "
                f"retain_data={str(self.common.retain_data).lower()} and "
                f"redshift_sample_data={str(self.redshift_sample_data).lower()}. Allowed: true only with "
                "redshift_sample_data=true and retain_data=false (it replaces the tables' rows), otherwise false."
            )
        require_existing_data(
            "redshift_existing_key_arn",
            self.redshift_existing_key_arn,
            {"redshift_existing_model_bucket": self.redshift_existing_model_bucket},
        )
        _require_existing_namespace(self.redshift_existing_namespace, self.redshift_existing_key_arn)

    @property
    def redshift_availability_zone_ids(self) -> tuple[str, ...]:
        """The configured AZ IDs, or () for the region's first three AZ names."""
        return tuple(zone.strip() for zone in self.redshift_availability_zones.split(",") if zone.strip())


def _require_existing_namespace(name: str, key_arn: str) -> None:
    """A kept namespace is re-attached with the kept key: its admin secret is encrypted with that key, and the
    callers that read the secret are granted it."""
    require_pattern(
        "redshift_existing_namespace",
        name,
        NAMESPACE_NAME_PATTERN,
        "a namespace name (3-64 lowercase letters, digits, hyphens)",
    )
    if name and not key_arn:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}redshift_existing_namespace needs {OVERRIDE_PREFIX}redshift_existing_key_arn: "
            "a kept namespace is re-attached with the key it and its admin secret are encrypted with. Allowed: both "
            "(the values the stack's RedeploySettings output printed), or redshift_existing_namespace empty."
        )


def _require_max_capacity(value: int, base: int) -> None:
    if value != 0 and (value % REDSHIFT_CAPACITY_STEP or value < base):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}redshift_max_capacity={value!r} is not allowed. Allowed: 0 (no ceiling of the "
            f"kit's), or a multiple of {REDSHIFT_CAPACITY_STEP} no lower than redshift_base_capacity ({base})."
        )


def _require_availability_zones(name: str, value: str) -> None:
    zones = [zone.strip() for zone in value.split(",") if zone.strip()]
    if not zones:
        return
    names = [zone for zone in zones if AVAILABILITY_ZONE_NAME_PATTERN.match(zone)]
    bad = [zone for zone in zones if not AVAILABILITY_ZONE_ID_PATTERN.match(zone)]
    prefixes = {zone.split("-az")[0] for zone in zones}
    if bad or len(prefixes) > 1 or len(set(zones)) < REDSHIFT_MIN_AVAILABILITY_ZONES:
        hint = (
            f" {', '.join(names)} {'is an AZ name' if len(names) == 1 else 'are AZ names'}, which map to different "
            "zones in each account: give the AZ IDs (aws ec2 describe-availability-zones shows each ZoneId)."
            if names
            else ""
        )
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not allowed. Allowed: empty (the region's first three), or "
            f"at least {REDSHIFT_MIN_AVAILABILITY_ZONES} distinct Availability Zone IDs of one region, "
            f"comma-separated, for example use1-az1,use1-az2,use1-az4, that Redshift Serverless supports.{hint}"
        )
