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
