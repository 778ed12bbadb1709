"""`python -m tools.cost`'s command line: help is help, an unknown profile is an error that lists the allowed ones."""

import pytest

from tools.cost.__main__ import main


def test_help_prints_usage_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    assert "usage: python -m tools.cost" in out and "PROFILE" in out and not err


def test_unknown_profile_is_an_error_that_lists_the_allowed_ones(capsys):
    assert main(["prod"]) == 2
    assert "unknown profile(s) prod; allowed: sandbox, production" in capsys.readouterr().err
