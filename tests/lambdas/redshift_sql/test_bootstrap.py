import pytest

import bootstrap
from events import EventError

PROPERTIES = {
    "WorkgroupName": "job-matching",
    "Database": "dev",
    "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift",
    "Schema": "jobmatch",
    "MlRole": "ml_developer",
    "AnalystRole": "analyst",
    "HoldoutDays": "14",  # CloudFormation passes properties as strings
    "SampleData": {"Bucket": "cdk-assets", "SeekersKey": "a.csv", "JobsKey": "b.csv", "InteractionsKey": "c.csv"},
}


def test_bootstrap_runs_tables_views_roles_grants_then_loads_in_one_transaction(fake_runner):
    runner = fake_runner(answers=[("svv_roles", [])])
    bootstrap.bootstrap(runner, PROPERTIES)
    ran = [sql for sql, _ in runner.ran]
    first_grant = next(i for i, sql in enumerate(ran) if sql.startswith("GRANT"))
    assert ran[0] == "CREATE SCHEMA IF NOT EXISTS jobmatch"
    assert ran.index("CREATE ROLE ml_developer") < first_grant
    assert ran.index("CREATE ROLE analyst") < first_grant
    assert any("DATEADD(day, -14, MAX(event_time))" in sql for sql in ran)
    (batch,) = runner.batches
    assert batch[:3] == [
        "DELETE FROM jobmatch.interactions",
        "DELETE FROM jobmatch.jobs",
        "DELETE FROM jobmatch.job_seekers",
    ]
    assert "COPY jobmatch.interactions FROM 's3://cdk-assets/c.csv' IAM_ROLE DEFAULT CSV" in batch[5]


def test_bootstrap_is_idempotent_about_roles_and_skips_absent_sample_data(fake_runner):
    runner = fake_runner(answers=[("svv_roles", [{"role_name": "exists"}])])
    bootstrap.bootstrap(runner, {k: v for k, v in PROPERTIES.items() if k != "SampleData"})
    assert not any(sql.startswith("CREATE ROLE") for sql, _ in runner.ran)
    assert runner.batches == []


def test_bootstrap_refuses_a_bad_schema_name_before_running_anything(fake_runner):
    runner = fake_runner()
    with pytest.raises(ValueError, match="schema='job-match' does not match"):
        bootstrap.bootstrap(runner, {**PROPERTIES, "Schema": "job-match"})
    assert runner.ran == []


class LambdaContext:
    def get_remaining_time_in_millis(self):
        return 840_000


def test_handler_reports_a_malformed_event_to_cloudformation_naming_the_field(monkeypatch):
    sent = []
    monkeypatch.setattr(
        bootstrap.cfn_response, "send", lambda event, status, pid, reason="": sent.append((status, reason))
    )
    bootstrap.handler(
        {
            "RequestType": "Create",
            "ResponseURL": "https://x",
            "StackId": "s",
            "RequestId": "r",
            "LogicalResourceId": "l",
        },
        LambdaContext(),
    )
    assert sent == [("FAILED", "EventError: The event has no field 'ResourceProperties'.")]


def test_delete_keeps_the_data_and_succeeds(monkeypatch):
    sent = []
    monkeypatch.setattr(
        bootstrap.cfn_response, "send", lambda event, status, pid, reason="": sent.append((status, pid))
    )
    bootstrap.handler(
        {"RequestType": "Delete", "PhysicalResourceId": "wg/dev/jobmatch", "ResourceProperties": PROPERTIES},
        LambdaContext(),
    )
    assert sent == [("SUCCESS", "wg/dev/jobmatch")]


def test_non_numeric_holdout_names_the_field(fake_runner):
    with pytest.raises(EventError, match="'HoldoutDays' must be a whole number, not '2 weeks'"):
        bootstrap.bootstrap(fake_runner(), {**PROPERTIES, "HoldoutDays": "2 weeks"})


def test_unknown_request_type_names_the_field():
    with pytest.raises(EventError, match="'RequestType' must be Create, Update or Delete, not 'Upsert'"):
        bootstrap.handle({"RequestType": "Upsert", "ResourceProperties": PROPERTIES})
