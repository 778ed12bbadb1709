"""The kit's SQL files, rendered safely.

Values that vary at run time go to the Data API as Parameters (`:name` in the SQL). What cannot be a
parameter (identifiers, DDL settings such as S3_BUCKET) is substituted as `${name}`, and every such
value must match a strict pattern for its name first, so no text from outside can change a statement.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PATTERNS = {
    "schema": IDENTIFIER,
    "model_name": IDENTIFIER,
    "function_name": IDENTIFIER,
    "ml_role": IDENTIFIER,
    "analyst_role": IDENTIFIER,
    "bucket": re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
    "seekers_key": re.compile(r"^[A-Za-z0-9_./-]+\.csv$"),
    "jobs_key": re.compile(r"^[A-Za-z0-9_./-]+\.csv$"),
    "interactions_key": re.compile(r"^[A-Za-z0-9_./-]+\.csv$"),
    "kms_key_id": re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$"),
    "training_job_name": re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
    "argument_types": re.compile(
        r"^(INT|INTEGER|BIGINT|SMALLINT|REAL|FLOAT|DOUBLE PRECISION|BOOLEAN)(, ?(INT|INTEGER|BIGINT|SMALLINT|REAL|FLOAT|DOUBLE PRECISION|BOOLEAN))*$"
    ),
}
INTEGERS = {
    "holdout_days": (1, 365),
    "max_cells": (1_000, 10**10),
    "max_runtime_seconds": (1_800, 2_592_000),
    "top_k": (1, 1_000),
}


def sql_dir() -> Path:
    """SQL files travel inside the Lambda bundle (sql/); in the repository they live in sql/redshift_ml/."""
    here = Path(__file__).resolve().parent
    bundled = here / "sql"
    return bundled if bundled.is_dir() else here.parent.parent / "sql" / "redshift_ml"


def load(name: str) -> str:
    return (sql_dir() / f"{name}.sql").read_text()


def render(text: str, **values: object) -> str:
    """Substitute `${name}` placeholders after checking each value; a missing or unknown name is an error."""
    checked = {name: check(name, value) for name, value in values.items()}
    try:
        return string.Template(text).substitute(checked)
    except KeyError as missing:
        raise ValueError(f"SQL template needs a value for {missing.args[0]!r}.") from None


def check(name: str, value: object) -> str:
    if name in INTEGERS:
        low, high = INTEGERS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r}.")
        return str(value)
    pattern = PATTERNS.get(name)
    if pattern is None:
        raise ValueError(f"{name!r} is not a value the SQL templates take.")
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{name}={value!r} does not match {pattern.pattern}.")
    return value


def statements(text: str) -> list[str]:
    """Split a file into statements: comments dropped, one statement per `;` at the end of a line."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    chunks = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def main(argv: list[str]) -> None:
    """Print a rendered template: python lambdas/redshift_sql/templates.py NAME key=value ..."""
    name, *pairs = argv
    values: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        values[key] = int(value) if key in INTEGERS else value
    print(render(load(name), **values))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
