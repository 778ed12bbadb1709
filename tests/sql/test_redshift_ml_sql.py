import re
import string
import sys
from pathlib import Path

import duckdb
import pytest
import sqlglot

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambdas" / "redshift_sql"))
import templates  # noqa: E402

VALUES = dict(
    schema="jobmatch",
    holdout_days=14,
    ml_role="ml_developer",
    analyst_role="analyst",
    bucket="ml-bucket",
    seekers_key="a.csv",
    jobs_key="b.csv",
    interactions_key="c.csv",
    model_name="job_match_v1",
    function_name="predict_job_match_v1",
    top_k=10,
    kms_key_id="arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
    max_cells=1_000_000,
    max_runtime_seconds=5400,
    training_job_name="churn-xgb-2026",
    argument_types="INT, FLOAT",
)
ML_STATEMENTS = {"create_model", "bring_your_own_model", "show_model", "drop_model"}  # Redshift ML syntax sqlglot lacks


def rendered(name):
    text = templates.load(name)
    needed = {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)} - {None}
    return templates.render(text, **{key: VALUES[key] for key in needed})


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in templates.sql_dir().glob("*.sql") if p.stem not in ML_STATEMENTS)
)
def test_every_non_ml_statement_parses_as_redshift_sql(name):
    for statement in templates.statements(rendered(name)):
        assert sqlglot.parse_one(statement, read="redshift") is not None


def test_create_model_clauses_appear_in_the_documented_order():
    (text,) = templates.statements(rendered("create_model"))
    # AUTO OFF needs PREPROCESSORS 'none', between OBJECTIVE and HYPERPARAMETERS (CREATE MODEL, full syntax).
    clauses = [
        "CREATE MODEL",
        "FROM (",
        "TARGET applied",
        "FUNCTION predict_job_match_v1",
        "IAM_ROLE DEFAULT",
        "AUTO OFF",
        "MODEL_TYPE XGBOOST",
        "OBJECTIVE 'reg:logistic'",
        "PREPROCESSORS 'none'",
        "HYPERPARAMETERS DEFAULT EXCEPT",
        "SETTINGS (",
    ]
    positions = [text.index(clause) for clause in clauses]
    assert positions == sorted(positions)
    settings = text[text.index("SETTINGS (") :]
    for setting in ("S3_BUCKET 'ml-bucket'", "KMS_KEY_ID 'arn:aws:kms:", "MAX_CELLS 1000000", "MAX_RUNTIME 5400"):
        assert setting in settings


def test_training_uses_only_rows_before_the_holdout_and_evaluation_only_after():
    assert "f.event_time < h.starts_at" in rendered("create_model")
    assert "f.event_time >= h.starts_at" in rendered("evaluate")


def test_precision_and_recall_at_k_on_a_hand_computed_example():
    """Seeker 1 saw four jobs in the holdout and applied to two; seeker 2 applied to one of two; seeker 3 to none.
    With K=2: seeker 1 ranks jobs 10 (applied), 11 (not) first: precision 1/2, recall 1/2.
    Seeker 2 ranks job 20 (applied) first: precision 1/2, recall 1/1. Seeker 3 is left out (nothing relevant).
    Averages: precision@2 = 0.5, recall@2 = 0.75, over 2 seekers."""
    sql = rendered("evaluate")
    expression = sqlglot.parse_one(sql, read="redshift")
    expression = sqlglot.exp.replace_placeholders(expression, k=2)
    db = duckdb.connect()
    db.execute("CREATE SCHEMA jobmatch")
    db.execute(
        "CREATE TABLE jobmatch.pair_features (seeker_id INT, job_id INT, event_time TIMESTAMP, applied INT, "
        "years_experience INT, required_experience INT, experience_gap INT, skill_match INT, education_gap INT, "
        "salary_ratio DOUBLE, same_region INT, remote_fit INT)"
    )
    rows = [  # seeker, job, applied, score (stored in salary_ratio, which the stand-in model returns)
        (1, 10, 1, 0.9),
        (1, 11, 0, 0.8),
        (1, 12, 1, 0.7),
        (1, 13, 0, 0.1),
        (2, 20, 1, 0.6),
        (2, 21, 0, 0.5),
        (3, 30, 0, 0.9),
        (1, 14, 1, 0.99),  # before the holdout window: ignored
    ]
    for seeker, job, applied, score in rows:
        day = "2026-10-01" if job == 14 else "2026-10-30"
        db.execute(
            "INSERT INTO jobmatch.pair_features VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, ?, 0, 0)",
            [seeker, job, day, applied, score],
        )
    db.execute("CREATE VIEW jobmatch.holdout_start AS SELECT TIMESTAMP '2026-10-20' AS starts_at")
    db.execute("CREATE MACRO jobmatch.predict_job_match_v1(a, b, c, d, e, f, g, h) AS f")
    precision, recall, seekers = db.execute(expression.sql("duckdb")).fetchone()
    assert (precision, recall, seekers) == (0.5, 0.75, 2)


def training_query():
    """The SELECT inside CREATE MODEL ... FROM ( ... ) TARGET, parsed."""
    (text,) = templates.statements(rendered("create_model"))
    inner = text[text.index("FROM (") + len("FROM (") : text.index("\nTARGET")].strip().removesuffix(")")
    return sqlglot.parse_one(inner, read="redshift"), text


def test_the_target_is_trained_as_a_double_so_the_function_returns_a_fraction_not_a_rounded_integer():
    query, text = training_query()
    target = text.split("TARGET ", 1)[1].split()[0]
    (column,) = [c for c in query.expressions if c.alias_or_name == target]
    cast = column.this if isinstance(column, sqlglot.exp.Alias) else column
    assert isinstance(cast, sqlglot.exp.Cast) and cast.to.this == sqlglot.exp.DataType.Type.DOUBLE
    assert len(query.expressions) == 9  # eight features and the target: lifecycle.TRAINING_COLUMNS


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in templates.sql_dir().glob("*.sql") if p.stem not in ML_STATEMENTS)
)
def test_every_qualify_reads_from_an_aliased_relation(name):
    """Redshift: with QUALIFY directly after FROM, the FROM relation must have an alias (QUALIFY clause page)."""
    for statement in templates.statements(rendered(name)):
        for select in sqlglot.parse_one(statement, read="redshift").find_all(sqlglot.exp.Select):
            if select.args.get("qualify") is not None:
                relation = (select.args.get("from_") or select.args.get("from")).this
                assert relation.alias, f"{name}.sql: QUALIFY over {relation.sql('redshift')} without an alias"


def test_recommendations_keep_the_top_k_jobs_per_seeker_by_score():
    db = duckdb.connect()
    db.execute("CREATE SCHEMA jobmatch")
    db.execute("CREATE TABLE jobmatch.job_match_scores (seeker_id INT, job_id INT, score DOUBLE, model_name VARCHAR)")
    db.execute(
        "CREATE TABLE jobmatch.recommendations (seeker_id INT, job_id INT, score DOUBLE, rank SMALLINT, "
        "model_name VARCHAR, generated_at TIMESTAMP)"
    )
    scores = [(1, job, score) for job, score in ((10, 0.2), (11, 0.9), (12, 0.5), (13, 0.7))] + [(2, 20, 0.1)]
    db.executemany("INSERT INTO jobmatch.job_match_scores VALUES (?, ?, ?, 'm')", scores)
    db.execute("INSERT INTO jobmatch.recommendations VALUES (9, 9, 0, 1, 'old', NULL)")
    text = templates.render(templates.load("recommend"), schema="jobmatch", top_k=2)
    for statement in templates.statements(text):
        db.execute(sqlglot.transpile(statement, read="redshift", write="duckdb")[0])
    rows = db.execute(
        "SELECT seeker_id, job_id, rank FROM jobmatch.recommendations ORDER BY seeker_id, rank"
    ).fetchall()
    assert rows == [(1, 11, 1), (1, 13, 2), (2, 20, 1)]


def test_model_state_matches_and_returns_trimmed_char_128_values():
    """SVV_ML_MODEL_INFO's columns are CHAR(128): stored values carry trailing blanks."""
    db = duckdb.connect()
    db.execute("CREATE TABLE svv_ml_model_info (schema_name VARCHAR, model_name VARCHAR, model_state VARCHAR)")
    pad = " " * 100
    db.execute(
        "INSERT INTO svv_ml_model_info VALUES (?, ?, ?)",
        ["jobmatch" + pad, "job_match_v1" + pad, "Model is Ready" + pad],
    )
    (statement,) = templates.statements(templates.load("model_state"))
    query = sqlglot.exp.replace_placeholders(
        sqlglot.parse_one(statement, read="redshift"), schema_name="jobmatch", model_name="job_match_v1"
    )
    assert db.execute(query.sql("duckdb")).fetchall() == [("Model is Ready",)]


WRITE = re.compile(r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+(?:\$\{schema\}|\{settings\.schema\})\.(\w+)", re.IGNORECASE)


def test_the_ml_role_may_write_every_table_the_lifecycle_writes():
    """The lifecycle runs as its IAM role with the ml role only (not the admin): every table its SQL files and
    inline statements write must be granted to that role by the bootstrap, for that kind of write."""
    sources = [templates.load(name) for name in ("promote", "recommend")]
    sources.append((Path(templates.__file__).with_name("lifecycle.py")).read_text())
    needed = {(verb.split()[0].upper(), table) for text in sources for verb, table in WRITE.findall(text)}
    assert {("INSERT", "model_registry"), ("UPDATE", "model_registry"), ("DELETE", "recommendations")} <= needed
    granted = set()
    for statement in templates.statements(rendered("03_grants")):
        match = re.match(r"GRANT (.+) ON jobmatch\.(\w+) TO ROLE ml_developer$", statement.strip(), re.IGNORECASE)
        if match:
            granted |= {(privilege.strip().upper(), match.group(2)) for privilege in match.group(1).split(",")}
    assert needed - granted == set()


ASSUMEROLE = re.compile(
    r"^(?P<verb>GRANT|REVOKE)\s+ASSUMEROLE\s+ON\s+(?P<roles>.+?)\s+(?:TO|FROM)\s+(?P<grantees>.+?)\s+FOR\s+(?P<uses>.+)$",
    re.IGNORECASE | re.DOTALL,
)
IAM_ROLE_USE = re.compile(r"^\s*(CREATE\s+MODEL|COPY|UNLOAD|CREATE\s+EXTERNAL\s+FUNCTION)\b.*\bIAM_ROLE\b", re.I | re.S)


def _words(text):
    return [word.strip().upper() for word in text.split(",")]


def test_only_the_ml_role_may_assume_the_namespace_role_and_only_for_create_model():
    """ASSUMEROLE on the namespace's IAM roles is PUBLIC's until a superuser runs REVOKE ASSUMEROLE ON ALL FROM PUBLIC
    FOR ALL (Redshift GRANT/REVOKE usage notes): the bootstrap revokes it before any grant, and grants it back to the ml
    role alone, for CREATE MODEL alone, on the role the models name (IAM_ROLE DEFAULT)."""
    grants = [ASSUMEROLE.match(s.strip()) for s in templates.statements(rendered("03_grants"))]
    grants = [m for m in grants if m]
    assert grants, "03_grants.sql has no ASSUMEROLE statement"
    first = grants[0]
    assert first["verb"].upper() == "REVOKE"
    assert (_words(first["roles"]), _words(first["grantees"]), _words(first["uses"])) == (["ALL"], ["PUBLIC"], ["ALL"])
    for match in grants[1:]:
        assert match["verb"].upper() == "GRANT", match.group(0)
        assert _words(match["grantees"]) == ["ROLE ML_DEVELOPER"], match.group(0)
        assert _words(match["uses"]) == ["CREATE MODEL"], match.group(0)
    granted_roles = {role for m in grants[1:] for role in _words(m["roles"])}
    for name in ("create_model", "bring_your_own_model"):
        (statement,) = templates.statements(rendered(name))
        used = re.search(r"\bIAM_ROLE\s+(DEFAULT|'[^']+')", statement, re.IGNORECASE)
        assert used and used.group(1).upper() in granted_roles, name


def test_only_the_bootstrap_uses_the_namespace_role_outside_create_model():
    """The lifecycle's SQL (its IAM identity, the ml role) uses the namespace role only in CREATE MODEL; COPY of the
    sample data is in the bootstrap's own file, which runs as the namespace admin, a superuser who keeps ASSUMEROLE."""
    bootstrap_only = {"04_load_sample_data"}
    for path in sorted(templates.sql_dir().glob("*.sql")):
        for statement in templates.statements(rendered(path.stem)):
            use = IAM_ROLE_USE.match(statement)
            if use and " ".join(use.group(1).upper().split()) != "CREATE MODEL":
                assert path.stem in bootstrap_only, (path.stem, statement[:80])


def test_promotion_scores_every_unseen_pair_and_keeps_k_per_seeker_on_the_local_engine():
    """The measurement behind the promotion rate the README states (tests/sql/promotion_rate.py), on a small size."""
    from tests.sql.promotion_rate import measure

    result = measure(seekers=300, jobs=120, interactions=2_000, top_k=5)
    assert result["pairs"] > 300 * 5
    assert result["recommendations"] == 300 * 5


@pytest.mark.parametrize("name", ["create_model", "bring_your_own_model"])
def test_every_model_is_created_in_the_schema_so_its_function_is_too(name):
    """The inference function is created in the model's schema: an unqualified model name would put model and
    function wherever the caller's search_path points, and the lifecycle calls ${schema}.${function_name}."""
    (statement,) = templates.statements(rendered(name))
    assert re.match(r"CREATE MODEL jobmatch\.\w+\s", statement)
    assert "jobmatch." not in statement.split("FUNCTION ", 1)[1].split()[0]  # FUNCTION takes a bare name
