"""tools/mutation.py: which mutants count as string-only, the delete-call mutants, and the seeded sample."""

from tools.mutation import Mutant, delete_call_mutants, sample, string_only

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
