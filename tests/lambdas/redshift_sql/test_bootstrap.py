import time

import boto3
import pytest

import bootstrap
from events import EventError

EMPTY_TABLES = ("COUNT(*)", [{"job_seekers": 0, "jobs": 0, "interactions": 0}])
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
    runner = fake_runner(answers=[("svv_roles", []), EMPTY_TABLES])
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


@pytest.mark.parametrize("reachable", [True, False])
def test_delete_keeps_the_data_drops_versions_still_training_and_always_succeeds(monkeypatch, fake_runner, reachable):
    """A stack delete ends the lifecycle's executions but not their training: the bootstrap's Delete drops models
    still training and marks them abandoned, and never blocks the deletion when the warehouse cannot be reached."""
    sent = []
    monkeypatch.setattr(
        bootstrap.cfn_response, "send", lambda event, status, pid, reason="": sent.append((status, pid))
    )
    runner = fake_runner(answers=[("status = 'training'", [{"model_name": "job_match_v9"}])])

    def make_runner(properties, deadline):
        if not reachable:
            raise RuntimeError("workgroup not found")
        return runner

    monkeypatch.setattr(bootstrap, "_runner", make_runner)
    bootstrap.handler(
        {"RequestType": "Delete", "PhysicalResourceId": "wg/dev/jobmatch", "ResourceProperties": PROPERTIES},
        LambdaContext(),
    )
    assert sent == [("SUCCESS", "wg/dev/jobmatch")]
    ran = [sql for sql, _ in runner.ran]
    assert ("DROP MODEL IF EXISTS jobmatch.job_match_v9" in ran) is reachable
    assert not any(sql.startswith(("DELETE", "DROP TABLE", "DROP VIEW")) for sql in ran)


def test_non_numeric_holdout_names_the_field(fake_runner):
    with pytest.raises(EventError, match="'HoldoutDays' must be a whole number, not '2 weeks'"):
        bootstrap.bootstrap(fake_runner(), {**PROPERTIES, "HoldoutDays": "2 weeks"})


def test_unknown_request_type_names_the_field():
    with pytest.raises(EventError, match="'RequestType' must be Create, Update or Delete, not 'Upsert'"):
        bootstrap.handle({"RequestType": "Upsert", "ResourceProperties": PROPERTIES})


@pytest.fixture
def handler_runs(monkeypatch, fake_runner):
    """handler() with the Data API runner it builds replaced by the recording fake, and CloudFormation's answers kept."""
    calls = {"runners": [], "sent": [], "clock": time.monotonic}

    class Runner(fake_runner):
        def __init__(self, **kwargs):
            super().__init__(answers=[("svv_roles", []), EMPTY_TABLES])
            self.workgroup_name, self.database = kwargs["workgroup_name"], kwargs["database"]
            calls["runners"].append((kwargs, self))

    monkeypatch.setattr(boto3, "client", lambda service: f"{service} client")
    monkeypatch.setattr(bootstrap, "DataApiRunner", Runner)
    monkeypatch.setattr(
        bootstrap.cfn_response,
        "send",
        lambda event, status, pid, reason="": calls["sent"].append((status, pid, reason)),
    )
    monkeypatch.setenv("STATEMENT_TIMEOUT_SECONDS", "120")
    return calls


def test_create_through_the_handler_runs_the_bootstrap_and_answers_success_with_the_physical_id(handler_runs):
    before = handler_runs["clock"]()
    bootstrap.handler({"RequestType": "Create", "ResourceProperties": PROPERTIES}, LambdaContext())
    after = handler_runs["clock"]()
    assert handler_runs["sent"] == [("SUCCESS", "job-matching/dev/jobmatch", "")]
    ((kwargs, runner),) = handler_runs["runners"]
    assert kwargs["client"] == "redshift-data client"
    assert (kwargs["workgroup_name"], kwargs["database"], kwargs["secret_arn"]) == (
        "job-matching",
        "dev",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift",
    )
    assert kwargs["timeout_seconds"] == 120.0
    # A minute before the Lambda timeout (840 s left), so the FAILED answer still gets out.
    assert before + 840 - 60 <= kwargs["deadline"] <= after + 840 - 60
    assert runner.ran[0][0] == "CREATE SCHEMA IF NOT EXISTS jobmatch" and len(runner.batches) == 1


def test_a_failed_update_answers_failed_with_the_error_and_keeps_the_physical_id(handler_runs, monkeypatch, capsys):
    def fail(runner, properties, previous=None):
        raise RuntimeError("ERROR: permission denied for schema jobmatch")

    monkeypatch.setattr(bootstrap, "bootstrap", fail)
    event = {
        "RequestType": "Update",
        "PhysicalResourceId": "job-matching/dev/jobmatch",
        "ResourceProperties": PROPERTIES,
    }
    bootstrap.handler(event, LambdaContext())
    assert handler_runs["sent"] == [
        ("FAILED", "job-matching/dev/jobmatch", "RuntimeError: ERROR: permission denied for schema jobmatch")
    ]
    # The log keeps the error too (CloudFormation shows only the reason's last 3500 characters).
    assert "RuntimeError('ERROR: permission denied for schema jobmatch')" in capsys.readouterr().out


def test_a_create_that_fails_answers_failed_under_a_stable_placeholder_id(handler_runs, monkeypatch):
    monkeypatch.setattr(bootstrap, "bootstrap", lambda runner, properties, previous=None: 1 / 0)
    bootstrap.handler({"RequestType": "Create", "ResourceProperties": PROPERTIES}, LambdaContext())
    assert handler_runs["sent"] == [("FAILED", "redshift-bootstrap", "ZeroDivisionError: division by zero")]


def test_bootstrap_returns_every_statement_it_ran_in_order(fake_runner):
    runner = fake_runner(answers=[("svv_roles", []), EMPTY_TABLES])
    ran = bootstrap.bootstrap(runner, PROPERTIES)
    (batch,) = runner.batches
    assert ran == [sql for sql, _ in runner.ran if not sql.startswith("SELECT")] + batch


OLD_COLUMNS = [{"column_name": "seeker_id", "data_type": "integer"}, {"column_name": "job_id", "data_type": "integer"}]
NEW_COLUMNS = OLD_COLUMNS + [{"column_name": "remote_fit", "data_type": "integer"}]
SERVING = ("status = 'serving'", [{"model_name": "job_match_v3", "function_name": "predict_job_match_v3"}])


def view_runner(fake_runner, columns, answers=()):
    """Answers SVV_COLUMNS per view name: `columns` maps a view (or its probe, <view>_next) to its columns."""

    class Runner(fake_runner):
        def query(self, sql, parameters=None):
            if "svv_columns" in sql:
                self.ran.append((sql, parameters))
                return columns.get(parameters["view"], [])
            return super().query(sql, parameters)

    return Runner(answers=[("svv_roles", [{"role_name": "x"}]), *answers])


NO_SAMPLE = {k: v for k, v in PROPERTIES.items() if k != "SampleData"}


def test_a_view_whose_columns_change_is_dropped_and_created_again_with_the_serving_view(fake_runner):
    """CREATE OR REPLACE VIEW needs the same columns: a changed pair_features is migrated in one transaction, and
    the serving view that selects from it is created again for the serving model."""
    columns = {
        "pair_features": OLD_COLUMNS,
        "pair_features_next": NEW_COLUMNS,
        "holdout_start": OLD_COLUMNS[:1],
        "holdout_start_next": OLD_COLUMNS[:1],
    }
    runner = view_runner(fake_runner, columns, answers=[SERVING])
    ran = bootstrap.bootstrap(runner, NO_SAMPLE)
    (batch,) = runner.batches
    assert batch[:2] == ["DROP VIEW IF EXISTS jobmatch.job_match_scores", "DROP VIEW jobmatch.pair_features"]
    assert batch[2].startswith("CREATE OR REPLACE VIEW jobmatch.pair_features AS")
    assert batch[3].startswith("CREATE OR REPLACE VIEW jobmatch.job_match_scores AS")
    assert "jobmatch.predict_job_match_v3(" in batch[3]
    assert "GRANT SELECT ON jobmatch.job_match_scores TO ROLE analyst" in batch
    probes = [sql for sql, _ in runner.ran if "_next" in sql]
    assert probes[0] == "DROP VIEW IF EXISTS jobmatch.pair_features_next"
    assert probes[1].startswith("CREATE VIEW jobmatch.pair_features_next AS")
    assert probes[2] == "DROP VIEW jobmatch.pair_features_next"
    # holdout_start kept its columns: replaced in place, outside any batch
    assert any(sql.startswith("CREATE OR REPLACE VIEW jobmatch.holdout_start") for sql, _ in runner.ran)
    assert batch[0] in ran
    # the serving model can be evaluated by any lifecycle identity holding the ml role
    assert "GRANT EXECUTE ON MODEL jobmatch.job_match_v3 TO ROLE ml_developer" in [sql for sql, _ in runner.ran]


def test_a_view_with_the_same_columns_is_replaced_in_place(fake_runner):
    columns = {"pair_features": OLD_COLUMNS, "pair_features_next": OLD_COLUMNS}
    runner = view_runner(fake_runner, columns)
    bootstrap.bootstrap(runner, NO_SAMPLE)
    assert runner.batches == []
    assert any(sql.startswith("CREATE OR REPLACE VIEW jobmatch.pair_features") for sql, _ in runner.ran)


def sample_runner(fake_runner, counts, last=None, serving=False):
    answers = [("svv_roles", [{"role_name": "x"}]), ("COUNT(*)", [counts])]
    if last is not None:
        answers.append(("sample_data_loads ORDER BY", [{"sample": last}]))
    if serving:
        answers.append(SERVING)
    return fake_runner(answers=answers)


SAMPLE = "s3://cdk-assets/a.csv s3://cdk-assets/b.csv s3://cdk-assets/c.csv"
HELD = {"job_seekers": 5000, "jobs": 1500, "interactions": 120000}


def test_sample_data_never_replaces_rows_that_are_not_this_sample(fake_runner):
    """Turning the sample on over a warehouse with data would replace its rows (and leave recommendations naming
    deleted ids): refused, naming the settings, unless overwrite is asked for."""
    for last in (None, "s3://cdk-assets/older.csv s3://cdk-assets/b.csv s3://cdk-assets/c.csv"):
        runner = sample_runner(fake_runner, HELD, last=last)
        with pytest.raises(bootstrap.SampleDataRefused, match="kit:redshift_sample_data_overwrite=true"):
            bootstrap.bootstrap(runner, PROPERTIES)
        assert runner.batches == []
        assert not any(sql.startswith(("DELETE", "COPY")) for sql, _ in runner.ran)


def test_the_same_sample_is_not_loaded_twice(fake_runner):
    runner = sample_runner(fake_runner, HELD, last=SAMPLE)
    bootstrap.bootstrap(runner, PROPERTIES)
    assert runner.batches == []


def test_empty_tables_get_the_sample_and_a_record_of_it(fake_runner):
    runner = sample_runner(fake_runner, {"job_seekers": 0, "jobs": 0, "interactions": 0})
    bootstrap.bootstrap(runner, PROPERTIES)
    (batch,) = runner.batches
    assert batch[-2] == (f"INSERT INTO jobmatch.sample_data_loads (sample, loaded_at) VALUES ('{SAMPLE}', GETDATE())")
    assert batch[-1] == "DELETE FROM jobmatch.recommendations"


def test_overwrite_replaces_the_rows_and_rewrites_the_recommendations_in_the_same_transaction(fake_runner):
    runner = sample_runner(fake_runner, HELD, serving=True)
    properties = {**PROPERTIES, "TopK": "10", "SampleData": {**PROPERTIES["SampleData"], "Overwrite": "true"}}
    bootstrap.bootstrap(runner, properties)
    (batch,) = runner.batches
    assert batch[0] == "DELETE FROM jobmatch.interactions"
    assert any(sql.startswith("COPY jobmatch.interactions") for sql in batch)
    assert batch[-2] == "DELETE FROM jobmatch.recommendations"
    assert batch[-1].startswith("INSERT INTO jobmatch.recommendations") and "<= 10" in batch[-1]


def test_an_upgrade_from_before_the_load_record_keeps_the_sample_it_loaded_last_deploy(fake_runner):
    """Before sample_data_loads existed, every deploy with the sample on loaded it: when the previous deploy had the
    same sample, the rows are that sample, so it is recorded and left as it is; with another one, refused."""
    runner = sample_runner(fake_runner, HELD)
    ran = bootstrap.bootstrap(runner, PROPERTIES, previous=PROPERTIES)
    assert runner.batches == []
    assert ran[-1].startswith("INSERT INTO jobmatch.sample_data_loads") and f"'{SAMPLE}'" in ran[-1]
    older = {**PROPERTIES, "SampleData": {**PROPERTIES["SampleData"], "InteractionsKey": "old.csv"}}
    with pytest.raises(bootstrap.SampleDataRefused):
        bootstrap.bootstrap(sample_runner(fake_runner, HELD), PROPERTIES, previous=older)
