import subprocess
import sys
from pathlib import Path

import pytest

import templates


def test_render_substitutes_checked_values():
    assert templates.render("DROP MODEL IF EXISTS ${schema}.${model_name};", schema="jobmatch", model_name="m_v1") == (
        "DROP MODEL IF EXISTS jobmatch.m_v1;"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("schema", "jobmatch; DROP TABLE jobs"),
        ("schema", "JobMatch"),
        ("model_name", "1model"),
        ("bucket", "Bad_Bucket"),
        ("kms_key_id", "alias/aws/s3"),
        ("seekers_key", "x.csv' IAM_ROLE 'arn"),
        ("training_job_name", "job name"),
        ("argument_types", "INT, TEXT"),
    ],
)
def test_values_that_do_not_match_their_pattern_are_refused(name, value):
    with pytest.raises(ValueError, match=f"^{name}="):
        templates.render("${" + name + "}", **{name: value})


@pytest.mark.parametrize(
    ("name", "value"), [("top_k", 0), ("top_k", "10"), ("holdout_days", True), ("max_cells", 10**11)]
)
def test_numbers_must_be_whole_and_in_range(name, value):
    with pytest.raises(ValueError, match=f"^{name} must be a whole number"):
        templates.render("${" + name + "}", **{name: value})


def test_unknown_and_missing_values_are_errors():
    with pytest.raises(ValueError, match="'table' is not a value the SQL templates take"):
        templates.render("${table}", table="x")
    with pytest.raises(ValueError, match="needs a value for 'schema'"):
        templates.render("SELECT 1 FROM ${schema}.t")


def test_statements_split_on_line_end_semicolons_and_drop_comments():
    text = "-- a comment; with a semicolon\nCREATE TABLE a (x INT);\n\nSELECT 'a;b'\nFROM a;\n"
    assert templates.statements(text) == ["CREATE TABLE a (x INT)", "SELECT 'a;b'\nFROM a"]


@pytest.mark.parametrize("name", sorted(templates.INTEGERS))
def test_each_number_range_includes_both_ends_and_nothing_beyond(name):
    low, high = templates.INTEGERS[name]
    assert templates.render("${" + name + "}", **{name: low}) == str(low)
    assert templates.render("${" + name + "}", **{name: high}) == str(high)
    for outside in (low - 1, high + 1):
        with pytest.raises(ValueError, match=f"^{name} must be a whole number from {low} to {high}, not {outside}"):
            templates.render("${" + name + "}", **{name: outside})


def test_the_bundled_sql_folder_is_used_when_the_lambda_bundle_has_one(tmp_path, monkeypatch):
    """In the Lambda bundle the SQL files sit in sql/ next to the handler, not in the repository's sql/redshift_ml/."""
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "drop_model.sql").write_text("DROP MODEL IF EXISTS ${schema}.${model_name};\n")
    monkeypatch.setattr(templates, "__file__", str(tmp_path / "templates.py"))
    assert templates.sql_dir() == tmp_path / "sql"
    assert templates.load("drop_model") == "DROP MODEL IF EXISTS ${schema}.${model_name};\n"


def test_the_command_line_renders_a_template_with_numbers_as_numbers(capsys):
    templates.main(["drop_model", "schema=jobmatch", "model_name=job_match_v1"])
    assert capsys.readouterr().out.strip() == "DROP MODEL IF EXISTS jobmatch.job_match_v1;"
    templates.main(["drop_model", "schema=jobmatch", "model_name=job_match_v1", "top_k=10"])  # "10" would be refused
    assert capsys.readouterr().out.strip() == "DROP MODEL IF EXISTS jobmatch.job_match_v1;"


def test_the_script_prints_a_rendered_template():
    script = Path(templates.__file__)
    result = subprocess.run(
        [sys.executable, str(script), "drop_model", "schema=jobmatch", "model_name=job_match_v1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "DROP MODEL IF EXISTS jobmatch.job_match_v1;"


# The construct's synth-time defaults, for checking one setting at a time.
CONSTRUCT_DEFAULTS = {
    "schema": "jobmatch",
    "ml_role": "ml_developer",
    "analyst_role": "analyst",
    "model_prefix": "job_match",
    "database_name": "dev",
    "holdout_days": 14,
    "top_k": 10,
    "versions_kept": 3,
    "max_runtime_seconds": 5400,
}


def _synth_accepts(name, value):
    from stacks.redshift_ml.recommender import _check_settings

    try:
        _check_settings(**{**CONSTRUCT_DEFAULTS, name: value})
    except ValueError:
        return False
    return True


def _lifecycle_accepts(name, value):
    try:
        templates.check(name, value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("holdout_days", 1, 365), ("top_k", 1, 1000), ("max_runtime_seconds", 1_800, 2_592_000)],
)
def test_the_lifecycle_accepts_exactly_what_synth_accepts(name, low, high):
    """A value the construct lets through must not fail every refresh at run time, and the reverse."""
    for value in (low - 1, low, high, high + 1):
        assert _lifecycle_accepts(name, value) == _synth_accepts(name, value), (name, value)
    assert _synth_accepts(name, low) and _synth_accepts(name, high)
    assert not _synth_accepts(name, low - 1) and not _synth_accepts(name, high + 1)
