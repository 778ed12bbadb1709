"""tools/mutation.py: how mutants are classified (string-only, annotation-only, delete-call), the seeded sample, the
merged results file and the conftest cut."""

from tools.mutation import (
    Mutant,
    annotation_only,
    conftest_root,
    delete_call_mutants,
    merge,
    mutmut_mutants,
    sample,
    string_only,
    summary,
)

SOURCE = """def f(client, x):
    client.delete_endpoint_config(EndpointConfigName="a")
    if x > 1:
        raise ValueError(f"x is {x}")
    return x
"""


def test_a_changed_message_is_string_only_and_a_changed_operator_or_key_number_is_not():
    assert string_only(SOURCE, SOURCE.replace('f"x is {x}"', 'f"XXx is {x}XX"'))
    assert not string_only(SOURCE, SOURCE.replace("x > 1", "x >= 1"))
    assert not string_only(SOURCE, SOURCE.replace("x > 1", "x > 2"))
    assert not string_only(SOURCE, SOURCE)  # no change is not a mutant at all


def test_each_bare_call_statement_gets_a_deletion_mutant():
    (mutant,) = delete_call_mutants("m.py", SOURCE)
    assert mutant.line == 2 and mutant.kind == "delete-call"
    assert "delete_endpoint_config" not in mutant.source and "    pass\n" in mutant.source
    compile(mutant.source, "m.py", "exec")


def test_the_sample_keeps_every_deletion_and_is_the_same_on_every_run():
    mutants = [Mutant("m.py", i, "mutmut", f"# {i}\n", False) for i in range(200)]
    mutants.append(Mutant("m.py", 7, "delete-call", "pass\n", False))
    first = sample(mutants, 80, "m.py")
    assert len(first) == 80 and any(m.kind == "delete-call" for m in first)
    assert [m.source for m in first] == [m.source for m in sample(mutants, 80, "m.py")]
    assert len(sample(mutants, 500, "m.py")) == 201


TYPED = """from __future__ import annotations
from dataclasses import dataclass


@dataclass
class Runner:
    secret_arn: str | None = None

    def run(self, sql: list[str], timeout: float = 3.0) -> dict[str, int]:
        return {"n": len(sql)}
"""


def test_a_mutant_only_inside_a_postponed_annotation_is_annotation_only():
    assert annotation_only(TYPED, TYPED.replace("secret_arn: str | None", "secret_arn: str & None"))
    assert annotation_only(TYPED, TYPED.replace("-> dict[str, int]", "-> dict[str, float]"))
    assert annotation_only(TYPED, TYPED.replace("timeout: float", "timeout: int"))
    # A changed default, a changed body or no change at all is not.
    assert not annotation_only(TYPED, TYPED.replace("= None", '= ""'))
    assert not annotation_only(TYPED, TYPED.replace("= 3.0", "= 4.0"))
    assert not annotation_only(TYPED, TYPED.replace('"n"', '"m"'))
    assert not annotation_only(TYPED, TYPED.replace("str | None = None", "str & None = 1"))
    assert not annotation_only(TYPED, TYPED)
    # Without `from __future__ import annotations` the annotation is evaluated: `str & None` fails at import.
    eager = TYPED.replace("from __future__ import annotations\n", "")
    assert not annotation_only(eager, eager.replace("str | None", "str & None"))


def test_the_classification_of_generated_mutants():
    mutants = mutmut_mutants("m.py", TYPED)
    by_line = {(m.line, m.annotation_only, m.string_only) for m in mutants}
    assert (7, True, False) in by_line  # str | None -> str & None
    assert (7, False, False) in by_line  # = None -> = ""
    assert all(m.counted == (not m.annotation_only and not m.string_only) for m in mutants)


def test_only_runs_merge_into_the_results_file_and_the_summary_covers_every_module():
    old = {"modules": {"a.py": {"mutants": 10, "killed": 9, "string_only_mutants": 2, "string_only_survivors": 1}}}
    new = {"mutants": 5, "killed": 5, "string_only_mutants": 0, "string_only_survivors": 0, "commit": "abc"}
    merged = merge(old, {"b.py": new})
    assert merged["modules"] == {"a.py": old["modules"]["a.py"], "b.py": new}
    assert merge(merged, {"a.py": new})["modules"]["a.py"] == new
    assert summary(merged).startswith("mutation: score=14/15 survivors=1 ")


def test_conftest_files_above_the_tests_given_are_not_loaded():
    assert conftest_root(["tests/lambdas/redshift_sql"]) == "tests/lambdas/redshift_sql"
    assert conftest_root(["tests/a/b/test_x.py", "tests/a/b/test_y.py"]) == "tests/a/b"
    assert conftest_root(["tests/a/b/test_x.py", "tests/a/c"]) == "tests/a"
