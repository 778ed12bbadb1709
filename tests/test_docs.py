"""The README and the docs site: the site builds offline with `mkdocs build --strict` (a broken link, a missing anchor
or a page left out of the nav fails it), the README stays a front door, and every command they print works as
printed: its make targets, scripts, modules and `-c` settings exist, and nothing runs the system `python` or `npx`
(which lack the kit's packages and pinned CDK CLI) instead of `scripts/kit-env`."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.background import in_background
from tools.synthesis import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
# What a reader follows: the front page, the site's pages and the contributing guide.
PAGES = [README, PROJECT_ROOT / "CONTRIBUTING.md", *sorted(DOCS.rglob("*.md"))]
README_MAX_LINES = 200
SHELL_BLOCK = re.compile(r"```(?:bash|sh|shell)\n(.*?)```", re.DOTALL)
# Inline code that is a command to run (prose mentions such as `cdk deploy` name the CDK command, not a line to type).
INLINE_COMMAND = re.compile(r"(?<!`)`((?:python3? |npx |pip |pytest |make |scripts/[\w.-]+ )[^`\n]*)`(?!`)")
# Tools of the machine or the AWS account that the README assumes (the AWS CLI for account-side steps).
EXTERNAL = {"aws", "git", "export", "cd", "mkdir", "tar", "apt-get", "source"}
NEEDS_KIT_ENV = {"python", "python3", "npx", "cdk", "pip", "pytest", "node", "npm"}


def page_name(page: Path) -> str:
    return str(page.relative_to(PROJECT_ROOT))


def all_commands() -> list[tuple[str, str]]:
    """(page, command) for every command every page prints."""
    return [(page_name(page), command) for page in PAGES for command in readme_commands(page.read_text())]


def setting_names() -> set[str]:
    from app import SETTINGS
    from stacks.common.config import CommonSettings

    return {name for kind in (CommonSettings, *SETTINGS) for name in kind.setting_names()}


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))


def readme_commands(text: str) -> list[str]:
    """Each simple command of the README's shell blocks and inline command spans, comments and continuations removed."""
    lines = []
    for block in SHELL_BLOCK.findall(text):
        lines += block.replace("\\\n", " ").splitlines()
    lines += INLINE_COMMAND.findall(text)
    commands = []
    for line in lines:
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        line = re.sub(r"<[^<>]*>", "PLACEHOLDER", line)  # <LifecycleStateMachineArn output>
        for part in re.split(r"&&|\|\||;|\|", line):
            part = re.sub(r"\s[<>]\s*\S+", "", f" {part}").strip()  # redirections
            if part:
                commands.append(part)
    return commands


def problem(command: str, targets: set[str]) -> str | None:
    """Why `command` would not work as printed, or None."""
    words = shlex.split(command)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        words.pop(0)  # VAR=value prefix
    if not words:
        return None
    head, rest = words[0], words[1:]
    if head == "make":
        goals = [word for word in rest if "=" not in word and not word.startswith("-")]
        missing = [goal for goal in goals if goal not in targets]
        return f"no make target {', '.join(missing)}" if missing else None
    if context := context_problem(rest):
        return context
    if head in NEEDS_KIT_ENV:
        return f"`{head}` here is the machine's, without the kit's packages: write `scripts/kit-env {command}`"
    if head in EXTERNAL:
        return None
    if head.startswith("scripts/"):
        if not os.access(PROJECT_ROOT / head, os.X_OK):
            return f"{head} is not an executable script of the kit"
        if head == "scripts/kit-env" and rest:
            return wrapped_problem(rest)
        return None
    return f"`{head}` is not a command the kit provides or the README's prerequisites name"


def context_problem(words: list[str]) -> str | None:
    """A `-c profile=...` that names no profile, or a `-c kit:<name>=...` that names no setting."""
    from stacks.common.config import PROFILES

    for flag, value in zip(words, words[1:]):
        if flag not in ("-c", "--context"):
            continue
        key, _, setting = value.partition("=")
        if key == "profile" and setting not in (*PROFILES, "PLACEHOLDER"):
            return f"-c profile={setting}: no such profile (allowed: {', '.join(PROFILES)})"
        if key.startswith("kit:") and key.removeprefix("kit:") not in setting_names():
            return f"-c {key}: no such setting"
    return None


def wrapped_problem(words: list[str]) -> str | None:
    """What scripts/kit-env runs: python -m <module> must exist, python <file> must exist, npx runs the pinned CDK."""
    head, rest = words[0], words[1:]
    if head in ("python", "python3"):
        if rest[:1] == ["-m"]:
            module = rest[1]
            if module != "pytest" and importlib.util.find_spec(module) is None:
                return f"no module {module}"
        elif rest and not (PROJECT_ROOT / rest[0]).is_file():
            return f"no file {rest[0]}"
        return None
    if head == "npx":
        return None if rest[:1] == ["cdk"] else f"npx {rest[:1]} is not the pinned CDK CLI"
    if re.search(rf"^{re.escape(head)}==", (PROJECT_ROOT / "requirements-dev.txt").read_text(), re.MULTILINE):
        return None  # a command-line tool requirements-dev.txt pins (ruff, mypy, mkdocs)
    return f"scripts/kit-env {head}: not a tool the kit installs"


def test_the_readme_prints_commands():
    commands = readme_commands(README.read_text())
    assert "make synth" in commands and any(c.startswith("scripts/kit-env npx cdk deploy") for c in commands)
    assert "make docs" in commands


def test_the_readme_is_a_front_door():
    """Issue 34: what the kit is, the two commands, the three architectures, and links into the docs."""
    text = README.read_text()
    assert len(text.splitlines()) <= README_MAX_LINES, f"README.md is longer than {README_MAX_LINES} lines"
    for page in ("architectures/redshift-ml.md", "architectures/model-quality.md", "architectures/churn-model.md"):
        assert f"docs/{page}" in text, f"the README does not link docs/{page}"


@pytest.mark.parametrize(("page", "command"), sorted(set(all_commands())))
def test_every_docs_command_works_as_printed(page, command):
    assert problem(command, make_targets()) is None, f"{page}: {command!r}: {problem(command, make_targets())}"


def test_every_kit_setting_the_pages_name_exists():
    """`kit:<name>=` anywhere in the pages, prose included, names a setting of a settings class."""
    names = setting_names()
    unknown = [
        (page_name(page), name)
        for page in PAGES
        for name in re.findall(r"\bkit:([a-z_]+)=", page.read_text())
        if name not in names
    ]
    assert unknown == []


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("npx cdk synth -c profile=sandbox", "the machine's"),
        ("python -m datagen.churn --rows 10", "the machine's"),
        ("make sytnh", "no make target sytnh"),
        ("scripts/kit-env python -m tools.nothing", "no module tools.nothing"),
        ("scripts/missing", "not an executable script"),
        ("SELECT * FROM jobmatch.recommendations", "not a command"),
        ("scripts/kit-env npx cdk synth -c profile=prod", "no such profile"),
        ("scripts/kit-env black .", "not a tool the kit installs"),
        ("scripts/kit-env npx cdk deploy -c kit:retain_dta=true", "-c kit:retain_dta: no such setting"),
    ],
)
def test_the_check_catches_commands_that_fail_as_printed(command, message):
    assert message in problem(command, make_targets())


ALARM_ROW = re.compile(r"^\| `([A-Za-z]+Alarm)`", re.MULTILINE)


def _alarms_in_templates() -> dict[str, str]:
    """Logical ID -> template file of every CloudWatch alarm in the synthesized templates of both profiles."""
    import json

    alarms = {}
    for path in sorted((PROJECT_ROOT / "tests" / "snapshots").glob("*/*.json")):
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                alarms[logical_id] = f"{path.parent.name}/{path.name}"
    return alarms


def test_every_alarm_of_the_templates_has_one_row_in_the_notices_table():
    """Who is told what (issue 28): an alarm added without saying what it means and what to do fails here. A row
    names the alarm's construct ID, which its logical ID ends with before CDK's 8-character hash."""
    rows = [row for page in PAGES for row in ALARM_ROW.findall(page.read_text())]
    alarms = _alarms_in_templates()
    assert alarms
    for logical_id, template in alarms.items():
        matching = [row for row in rows if re.search(rf"{row}[0-9A-F]{{8}}$", logical_id)]
        assert len(matching) == 1, f"{logical_id} ({template}) has {len(matching)} rows in the docs' alarm tables"
    unused = [row for row in rows if not any(re.search(rf"{row}[0-9A-F]{{8}}$", a) for a in alarms)]
    assert not unused, f"docs rows for alarms no template has: {unused}"


def build_docs(workdir: Path, config: Path = PROJECT_ROOT / "mkdocs.yml") -> tuple[int, str]:
    """`mkdocs build --strict` of `config` into `workdir`, as `make docs` runs it: (exit status, output)."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config)]
        + ["--site-dir", str(workdir / "site")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return result.returncode, result.stdout + result.stderr


def build_broken_docs(workdir: Path) -> dict[str, tuple[int, str]]:
    """The kit's mkdocs.yml over three small sites, each with one defect: a link to a missing page, to a missing
    anchor, and a page left out of the nav."""
    config = (PROJECT_ROOT / "mkdocs.yml").read_text()
    config = config[: config.index("\nnav:")]
    defects = {
        "missing page": ("See [the page](gone.md).\n", {}),
        "missing anchor": ("See [it](other.md#no-such-heading).\n", {"other.md": "# Other\n"}),
        "page outside the nav": ("# Home\n", {"stray.md": "# Stray\n"}),
    }
    results = {}
    for name, (index, extra) in defects.items():
        site = workdir / name.replace(" ", "-")
        (site / "docs").mkdir(parents=True)
        (site / "docs" / "index.md").write_text(f"# Home\n\n{index}")
        nav = "\nnav:\n  - Home: index.md\n"
        for page, text in extra.items():
            (site / "docs" / page).write_text(text)
            if page != "stray.md":
                nav += f"  - {page}: {page}\n"
        (site / "mkdocs.yml").write_text(config.replace("docs_dir: docs", f"docs_dir: {site / 'docs'}") + nav)
        results[name] = build_docs(site, site / "mkdocs.yml")
    return results


@in_background(build_docs)
def test_the_docs_site_builds_strict(background_result):
    status, output = background_result
    assert status == 0, output[-6000:]


@in_background(build_broken_docs)
def test_the_strict_build_fails_on_a_broken_link_a_missing_anchor_and_an_orphan_page(background_result):
    for defect, (status, output) in background_result.items():
        assert status != 0, f"{defect}: the strict build passed:\n{output[-2000:]}"


LINK = re.compile(r"\]\(([^)\s]+)\)")


def broken_links(page: Path) -> list[str]:
    """Relative links of a page outside the site (README, CONTRIBUTING) to a missing file or heading."""
    from markdown.extensions.toc import slugify

    problems = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{target}: no file {path}")
        elif anchor:
            headings = re.findall(r"^#+ (.+)$", file.read_text(), re.MULTILINE)
            if anchor not in {slugify(heading, "-") for heading in headings}:
                problems.append(f"{target}: no heading #{anchor} in {path or page.name}")
    return problems


@pytest.mark.parametrize("page", [README, PROJECT_ROOT / "CONTRIBUTING.md"], ids=lambda page: page.name)
def test_the_pages_outside_the_site_link_to_pages_and_headings_that_exist(page):
    assert broken_links(page) == []


def test_the_link_check_catches_a_missing_page_and_a_missing_heading(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "deploy.md").write_text("# Deploy\n\n## Before `cdk destroy`\n")
    page = tmp_path / "README.md"
    page.write_text("[a](docs/deploy.md#before-cdk-destroy) [b](docs/gone.md) [c](docs/deploy.md#no-such)\n")
    assert broken_links(page) == [
        "docs/gone.md: no file docs/gone.md",
        "docs/deploy.md#no-such: no heading #no-such in docs/deploy.md",
    ]


# A notice a stack sends names where its reader finds more: "(docs/deploy.md, Notices)".
NOTICE_REFERENCE = re.compile(r"\(((?:README|CONTRIBUTING|docs/[\w/.-]+)(?:\.md)?), ([A-Z][\w ]*)\)")


def dangling_notice_references(texts: list[str]) -> list[str]:
    """References in notice texts to a page that does not exist or has no heading starting with the section."""
    problems = []
    for text in texts:
        for page, section in NOTICE_REFERENCE.findall(text):
            path = PROJECT_ROOT / (page if page.endswith(".md") else f"{page}.md")
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE) if path.exists() else []
            if not any(heading.startswith(section) for heading in headings):
                problems.append(f"({page}, {section})")
    return sorted(set(problems))


def test_every_page_a_notice_names_has_that_section():
    """The notices the templates send (SNS messages of EventBridge rules) point at a page and section that exist."""
    texts = [path.read_text() for path in sorted((PROJECT_ROOT / "tests" / "snapshots").glob("*/*.json"))]
    assert any(NOTICE_REFERENCE.search(text) for text in texts)
    assert dangling_notice_references(texts) == []


def test_a_notice_naming_a_section_that_moved_is_caught():
    assert dangling_notice_references(["First: ... (README, Notices).", "(docs/deploy.md, Notices)"]) == [
        "(README, Notices)"
    ]
