"""Every folder of the results bucket expires, each after the days its purpose needs (issue 30: the bucket had no
expiry, and one reject row per id made it grow by tens of TB a day)."""

import json

from stacks.model_quality.storage import DAILY_RESULTS, results_expiry_days


def results_rules(template):
    buckets = template.find_resources("AWS::S3::Bucket")
    (rules,) = [
        bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        for logical_id, bucket in buckets.items()
        if logical_id.startswith("MonitorStorageResultsBucket")
    ]
    return rules


def expiring_prefixes(template):
    return {
        rule["Prefix"].rstrip("/"): rule["ExpirationInDays"]
        for rule in results_rules(template)
        if "Prefix" in rule and "ExpirationInDays" in rule
    }


def test_each_folder_expires_after_the_days_of_its_purpose(template):
    template, config = template
    assert expiring_prefixes(template) == results_expiry_days(config)
    assert {expiring_prefixes(template)[name] for name in DAILY_RESULTS} == {config.quality_results_retention_days}
    assert expiring_prefixes(template)["rejects"] == config.quality_reject_retention_days


def test_every_location_the_stack_points_into_the_results_bucket_has_an_expiring_rule(template):
    """The Glue tables' locations and the Athena workgroup's output: a new one without a rule fails here."""
    template, _ = template
    prefixes = expiring_prefixes(template)
    locations = [
        json.dumps(table["Properties"]["TableInput"]["StorageDescriptor"]["Location"])
        for table in template.find_resources("AWS::Glue::Table").values()
    ]
    (workgroup,) = template.find_resources("AWS::Athena::WorkGroup").values()
    locations.append(
        json.dumps(workgroup["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"])
    )
    assert len(locations) > 1
    for location in locations:
        folder = location.split('"/', 1)[1].split("/", 1)[0] if '"/' in location else None
        assert folder in prefixes, location


def test_no_rule_of_the_results_bucket_covers_another_s_folder(template):
    template, _ = template
    prefixes = [rule["Prefix"] for rule in results_rules(template) if "Prefix" in rule]
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]
