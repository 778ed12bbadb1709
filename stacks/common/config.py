"""Deployment profiles: the mechanism every architecture's settings use, and the settings they all share.

A profile (`-c profile=sandbox|production`, default `sandbox`) supplies every default: `CommonSettings` holds the
shared ones (removal, versioning, log retention, schedules, key deletion window) and each architecture package has
its own settings class in `settings.py`, each with the profile defaults of its fields (`PROFILE_DEFAULTS`). Single
settings can be overridden with `-c kit:<setting>=<value>`; each value is parsed and validated, and an error names
the setting and what is allowed, so a bad value fails synth instead of deploying something unexpected. Without CDK
context, build a settings object directly: `CommonSettings.for_profile("production", retain_data=False)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping, Self, TypeVar

from aws_cdk import RemovalPolicy
from aws_cdk.aws_logs import RetentionDays

PROFILE_CONTEXT_KEY = "profile"
OVERRIDE_PREFIX = "kit:"
DEFAULT_PROFILE = "sandbox"

# Profile name -> setting name -> default value.
ProfileDefaults = Mapping[str, Mapping[str, Any]]

# Retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION: dict[int, RetentionDays] = {
    1: RetentionDays.ONE_DAY,
    3: RetentionDays.THREE_DAYS,
    5: RetentionDays.FIVE_DAYS,
    7: RetentionDays.ONE_WEEK,
    14: RetentionDays.TWO_WEEKS,
    30: RetentionDays.ONE_MONTH,
    60: RetentionDays.TWO_MONTHS,
    90: RetentionDays.THREE_MONTHS,
    120: RetentionDays.FOUR_MONTHS,
    150: RetentionDays.FIVE_MONTHS,
    180: RetentionDays.SIX_MONTHS,
    365: RetentionDays.ONE_YEAR,
    400: RetentionDays.THIRTEEN_MONTHS,
    545: RetentionDays.EIGHTEEN_MONTHS,
    731: RetentionDays.TWO_YEARS,
    1096: RetentionDays.THREE_YEARS,
    1827: RetentionDays.FIVE_YEARS,
    2192: RetentionDays.SIX_YEARS,
    2557: RetentionDays.SEVEN_YEARS,
    2922: RetentionDays.EIGHT_YEARS,
    3288: RetentionDays.NINE_YEARS,
    3653: RetentionDays.TEN_YEARS,
}


S = TypeVar("S", bound="ProfileSettings")


class ConfigError(ValueError):
    """A profile or setting that the kit cannot deploy; the message says what is allowed."""


@dataclass(frozen=True)
class ProfileSettings:
    """Base of a frozen settings class whose defaults come from a profile (`PROFILE_DEFAULTS`, one dict per profile).

    Each field is a setting, set with `-c kit:<field name>=<value>`; `__post_init__` validates it.
    """

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {}

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """The names this class reads from `kit:` context (every field but the profile and the carried common)."""
        return tuple(field.name for field in dataclasses.fields(cls) if field.name not in ("profile", "common"))

    @classmethod
    def for_profile(cls, profile: str = DEFAULT_PROFILE, **overrides: Any) -> Self:
        """The profile's defaults with `overrides` (setting name to typed value), validated."""
        raise NotImplementedError

    @classmethod
    def _values(cls, profile: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The profile's defaults of this class's settings, then `overrides`; a name it does not know fails."""
        if profile not in cls.PROFILE_DEFAULTS:
            raise ConfigError(
                f"Unknown profile {profile!r}. Allowed profiles: {', '.join(cls.PROFILE_DEFAULTS)} "
                f"(set with -c {PROFILE_CONTEXT_KEY}=<profile>)."
            )
        _require_known(overrides, cls.setting_names())
        return {**cls.PROFILE_DEFAULTS[profile], **overrides}


@dataclass(frozen=True)
class CommonSettings(ProfileSettings):
    """Settings every architecture shares: removal, versioning, logs, schedules, keys."""

    profile: str
    # Keep buckets, keys and log groups when a stack is deleted (production) or destroy them (sandbox).
    retain_data: bool
    # S3 object versioning on data buckets.
    versioned_buckets: bool
    # CloudWatch Logs retention for every log group the kit creates; lowering it deletes older events already kept.
    log_retention_days: int
    # Days after which S3 server access logs expire; lowering it expires older logs already kept.
    access_log_expiry_days: int
    # Scheduled jobs (model refresh, daily model-quality job) are created disabled unless this is true.
    schedules_enabled: bool
    # Days KMS waits before deleting a key that the stack no longer holds (7-30).
    key_deletion_window_days: int
    # Environment name that prefixes the stack names (prod: prod-RedshiftMlStack) and with them every physical name,
    # so environments and copies deploy side by side in one account; empty: today's stack names. Lowercase letters,
    # digits and hyphens, at most 20 characters.
    environment: str

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {
        "sandbox": {
            "retain_data": False,
            "versioned_buckets": False,
            "log_retention_days": 7,
            "access_log_expiry_days": 30,
            "schedules_enabled": False,
            "key_deletion_window_days": 7,
            "environment": "",
        },
        "production": {
            "retain_data": True,
            "versioned_buckets": True,
            "log_retention_days": 365,
            "access_log_expiry_days": 365,
            "schedules_enabled": True,
            "key_deletion_window_days": 30,
            "environment": "",
        },
    }

    def __post_init__(self) -> None:
        _require_profile(self.profile)
        require_environment(self.environment)
        require_choice("log_retention_days", self.log_retention_days, tuple(LOG_RETENTION))
        require_range("access_log_expiry_days", self.access_log_expiry_days, 1, 3650)
        require_range("key_deletion_window_days", self.key_deletion_window_days, 7, 30)

    @classmethod
    def for_profile(cls, profile: str = DEFAULT_PROFILE, **overrides: Any) -> Self:
        """For example `CommonSettings.for_profile("production", retain_data=False)`."""
        return cls(profile=profile, **cls._values(profile, overrides))

    @property
    def removal_policy(self) -> RemovalPolicy:
        """RETAIN for data that must outlive the stack, DESTROY for a sandbox you can tear down."""
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY

    def stack_name(self, base: str) -> str:
        """`base` (`RedshiftMlStack`) prefixed with the environment, if any: `sandbox-RedshiftMlStack`."""
        return f"{self.environment}-{base}" if self.environment else base

    @property
    def log_retention(self) -> RetentionDays:
        return LOG_RETENTION[self.log_retention_days]

    @property
    def auto_delete_objects(self) -> bool:
        """Empty buckets on stack deletion only when the stack is allowed to destroy them."""
        return not self.retain_data


PROFILES: tuple[str, ...] = tuple(CommonSettings.PROFILE_DEFAULTS)


@dataclass(frozen=True)
class ArchitectureSettings(ProfileSettings):
    """Base of an architecture's settings (`stacks/<architecture>/settings.py`): its own, and the common ones it
    carries, so its construct takes one settings object."""

    common: CommonSettings

    @classmethod
    def for_profile(cls, profile: str = DEFAULT_PROFILE, **overrides: Any) -> Self:
        """The profile's defaults with `overrides` by setting name, common ones included, validated: for example
        `RedshiftMlSettings.for_profile("sandbox", redshift_base_capacity=16, retain_data=True)`."""
        shared = CommonSettings.setting_names()
        _require_known(overrides, shared + cls.setting_names())
        common = CommonSettings.for_profile(profile, **{k: v for k, v in overrides.items() if k in shared})
        own = {name: value for name, value in overrides.items() if name not in shared}
        return cls(common=common, **cls._values(profile, own))


def load_settings(context: Mapping[str, Any], kind: type[S], *, known: Iterable[type[ProfileSettings]] = ()) -> S:
    """Build `kind` from CDK context: the profile's defaults, then the validated `kit:` overrides of its settings.

    `known`: the app's other settings classes. A `kit:` key that neither `kind`, `CommonSettings` nor one of them
    reads fails, as does a context key that looks like the kit's but is not read.
    """
    kinds: tuple[type[ProfileSettings], ...] = tuple(dict.fromkeys((CommonSettings, kind, *known)))
    names = tuple(name for each in kinds for name in each.setting_names())
    _reject_lookalike_keys(context, names)
    profile = context.get(PROFILE_CONTEXT_KEY) or DEFAULT_PROFILE
    _require_profile(profile)
    wanted: dict[str, type[ProfileSettings]] = {
        name: each
        for each in ((CommonSettings, kind) if issubclass(kind, ArchitectureSettings) else (kind,))
        for name in each.setting_names()
    }
    overrides: dict[str, Any] = {}
    for key, raw in context.items():
        if not key.startswith(OVERRIDE_PREFIX):
            continue
        name = key[len(OVERRIDE_PREFIX) :]
        _require_known({name: raw}, names)
        if name in wanted:
            overrides[name] = _parse(name, raw, type(wanted[name].PROFILE_DEFAULTS[profile][name]))
    return kind.for_profile(profile, **overrides)


def _require_known(overrides: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in overrides:
        if name not in names:
            raise ConfigError(
                f"Unknown setting {OVERRIDE_PREFIX + name!r}.{_did_you_mean(name, names)} Allowed settings: "
                + ", ".join(OVERRIDE_PREFIX + n for n in names)
                + "."
            )


def _did_you_mean(name: str, names: tuple[str, ...]) -> str:
    """' Did you mean kit:<closest>?' for a misspelt setting name, or '' when none is close."""
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.75)
    return f" Did you mean {OVERRIDE_PREFIX}{close[0]}?" if close else ""


def _reject_lookalike_keys(context: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """Fail on context keys that look like the kit's but are not read (`Profile`, `retain_data`, `kit-retain_data`).

    CDK ignores context it does not know, so without this a mistyped key silently builds the sandbox profile.
    Keys of CDK itself (`@aws-cdk/...` feature flags, `aws:cdk:...`, lookups such as `availability-zones:...`) do
    not look like the kit's and pass.
    """
    for key in context:
        if key == PROFILE_CONTEXT_KEY or key.startswith(OVERRIDE_PREFIX) or not isinstance(key, str):
            continue
        bare = re.sub(r"^kit[^a-z0-9]*", "", key.strip().lower())
        if bare == PROFILE_CONTEXT_KEY:
            raise ConfigError(
                f"Context key {key!r} is not read by the kit. Did you mean {PROFILE_CONTEXT_KEY}? "
                f"Set the profile with -c {PROFILE_CONTEXT_KEY}=<{'|'.join(PROFILES)}>."
            )
        close = difflib.get_close_matches(bare.replace("-", "_"), names, n=1, cutoff=0.85)
        if close:
            raise ConfigError(
                f"Context key {key!r} is not read by the kit. Did you mean {OVERRIDE_PREFIX}{close[0]}? "
                f"Settings are set with -c {OVERRIDE_PREFIX}<setting>=<value>."
            )


def _parse(name: str, raw: Any, kind: type) -> Any:
    """Parse a context value (CLI values arrive as strings) into the setting's type."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a boolean. Allowed: true, false.")
    if kind is int:
        if isinstance(raw, bool):
            raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a whole number.")
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a whole number.") from None
    if kind is float:
        try:
            return float(str(raw).strip())
        except ValueError:
            raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a number.") from None
    return str(raw).strip()


def _require_profile(profile: Any) -> None:
    if profile not in PROFILES:
        raise ConfigError(
            f"Unknown profile {profile!r}. Allowed profiles: {', '.join(PROFILES)} "
            f"(set with -c {PROFILE_CONTEXT_KEY}=<profile>)."
        )


# CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128 characters
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html, StackName).
# Lowercase because Redshift, Glue and CodeArtifact names are; 20 characters keep the whole environment readable in the
# shortest derived name (a CodeArtifact domain, 50 characters, of which 18 are the digests of stacks/common/names.py).
ENVIRONMENT_PATTERN = re.compile(r"^[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?$")
ENVIRONMENT_MAX_LENGTH = 20


def require_environment(value: str) -> None:
    """Empty, or a lowercase name that can prefix a stack name (see ENVIRONMENT_PATTERN)."""
    if value and (not ENVIRONMENT_PATTERN.match(value) or "--" in value):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}environment={value!r} is not allowed. Allowed: empty (today's stack names), "
            f"or 1 to {ENVIRONMENT_MAX_LENGTH} lowercase letters, digits and single hyphens, starting with a letter "
            "and not ending with a hyphen (for example sandbox, prod, team-a)."
        )


def require_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not allowed. Allowed: {', '.join(map(str, allowed))}."
        )


def require_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={value!r} is out of range. Allowed: {low} to {high}.")


EMAIL_PATTERN = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


def email_addresses(value: str) -> tuple[str, ...]:
    """The addresses of a comma-separated e-mail setting, in order, without blanks or repeats (case-insensitive)."""
    seen: dict[str, str] = {}
    for address in (part.strip() for part in value.split(",")):
        if address:
            seen.setdefault(address.lower(), address)
    return tuple(seen.values())


def require_emails(name: str, value: str) -> None:
    """Empty, or one or more e-mail addresses separated by commas."""
    bad = [address for address in email_addresses(value) if not EMAIL_PATTERN.match(address)]
    if bad or (value.strip() and not email_addresses(value)):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not allowed: {', '.join(map(repr, bad)) or 'no address'} "
            "is not an e-mail address. Allowed: empty (no subscription) or one or more addresses separated by "
            "commas, for example ml-team@example.com,oncall@example.com."
        )


def require_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={value!r} is out of range. Allowed: 0 to 1.")


# S3 general purpose bucket names: 3-63 characters, lowercase letters, digits, dots and hyphens, starting and ending
# with a letter or digit (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id>
# (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id-key-ARN).
KEY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$")


def require_pattern(name: str, value: str, pattern: re.Pattern[str], allowed: str) -> None:
    """Empty (not set), or a value matching `pattern`; `allowed` says what that is, for the error."""
    if value and not pattern.match(value):
        raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not allowed. Allowed: empty or {allowed}.")


def require_existing_data(key_setting: str, key_arn: str, bucket_settings: Mapping[str, str]) -> None:
    """Settings that re-attach what a destroyed stack kept: its buckets' names and the ARN of the key their objects
    are encrypted with. All or none: a kept bucket is only readable with its kept key, and a new bucket next to kept
    ones would be encrypted with a new key that the next RedeploySettings output would not name."""
    require_pattern(
        key_setting, key_arn, KEY_ARN_PATTERN, "the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>)"
    )
    for name, value in bucket_settings.items():
        require_pattern(
            name, value, BUCKET_NAME_PATTERN, "an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)"
        )
    settings = {key_setting: key_arn, **bucket_settings}
    unset = [name for name, value in settings.items() if not value]
    if unset and len(unset) < len(settings):
        raise ConfigError(
            f"Setting {', '.join(OVERRIDE_PREFIX + name for name in settings if name not in unset)} needs "
            f"{', '.join(OVERRIDE_PREFIX + name for name in unset)}: kept buckets are re-attached with the key "
            "their objects are encrypted with. Allowed: all of them (the values the stack's RedeploySettings output "
            "printed), or none."
        )
