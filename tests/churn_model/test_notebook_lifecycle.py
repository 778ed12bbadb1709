"""The notebook's OnStart script, run as a start runs it, against a local stand-in for S3: what a user saves in
the notebook's home folder must survive the starts that follow (an idle stop and a start again, or a new volume).

The script comes from the synthesized template; `sudo -u ec2-user -i`, the home folder and /tmp become a test
folder, `pip` does nothing, and a stand-in `aws` copies between local folders with the CLI's sync rule (copy when
missing, of another size or newer; https://docs.aws.amazon.com/cli/latest/reference/s3/sync.html). The background
steps (pip install, the first restore) run in the foreground, so each start has finished when the test looks.
"""

import os
import re
import stat
import subprocess
import sys
import time

import pytest

from tests.churn_model.test_churn import _notebook_stack

FAKE_AWS = r"""
import fnmatch, os, shutil, sys
root = os.environ["FAKE_S3"]
def local(uri): return os.path.join(root, uri[5:]) if uri.startswith("s3://") else uri
args = [a for a in sys.argv[1:] if a != "--quiet"]
if args[:1] != ["s3"]:
    sys.exit(0)  # aws configure, aws codeartifact: nothing to stand in for
if args[1] == "cp":
    os.makedirs(os.path.dirname(local(args[3])), exist_ok=True)
    shutil.copy2(local(args[2]), local(args[3]))
    sys.exit(0)
excludes = [args[i + 1] for i, a in enumerate(args) if a == "--exclude"]
paths = [a for i, a in enumerate(args[2:], 2) if not a.startswith("--") and args[i - 1] != "--exclude"]
source, target = local(paths[0]), local(paths[1])
os.makedirs(source, exist_ok=True)
os.makedirs(target, exist_ok=True)
def files(top):
    found = {}
    for folder, _, names in os.walk(top):
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), top)
            if not any(fnmatch.fnmatch(relative, pattern) for pattern in excludes):
                found[relative] = os.path.join(folder, name)
    return found
have, there = files(source), files(target)
for relative, path in have.items():
    other = os.path.join(target, relative)
    if relative not in there or os.path.getsize(path) != os.path.getsize(other) or os.path.getmtime(path) > os.path.getmtime(other):
        os.makedirs(os.path.dirname(other), exist_ok=True)
        shutil.copy2(path, other)
if "--delete" in args:
    for relative, path in there.items():
        if relative not in have:
            os.remove(path)
"""

EXAMPLE = "sagemaker_pyspark_churn.py"


class Notebook:
    """A notebook instance's home folder and its bucket, started with the template's OnStart script."""

    def __init__(self, root, script):
        self.root, self.home, self.s3 = root, root / "home", root / "s3"
        self.notebooks, self.saved = self.home / "SageMaker", self.s3 / "artifacts" / "notebook" / "home"
        (self.s3 / "assets").mkdir(parents=True)
        (self.s3 / "assets" / "example.py").write_text('print("the kit\'s example")\n')
        (self.s3 / "assets" / "idle.py").write_text("")
        bin_folder = root / "bin"
        bin_folder.mkdir()
        # pip too: the script's install step would otherwise install sagemaker_pyspark (and its pyspark 3.3) into
        # the environment running the tests.
        stand_ins = {"aws": f"#!{sys.executable}\n{FAKE_AWS}", "crontab": "#!/bin/sh\ncat > /dev/null\n"}
        for name, text in {**stand_ins, "pip": "#!/bin/sh\nexit 0\n"}.items():
            (bin_folder / name).write_text(text)
            (bin_folder / name).chmod(stat.S_IRWXU)
        values = {"Example": "s3://assets/example.py", "IdleStop": "s3://assets/idle.py", "Bucket": "artifacts"}
        script = re.sub(r"\$\{(Example|IdleStop|Bucket)\}", lambda match: values[match.group(1)], script)
        script = script.replace("sudo -u ec2-user -i", "bash").replace("/home/ec2-user", str(self.home))
        script = script.replace("/tmp/kit-", f"{root}/kit-")
        script = re.sub(r"nohup (bash \S+) > (\S+) 2>&1 &", r"\1 > \2 2>&1", script)
        self.script = root / "on-start.sh"
        self.script.write_text(script)
        self.environment = {**os.environ, "PATH": f"{bin_folder}:{os.environ['PATH']}", "FAKE_S3": str(self.s3)}
        self.notebooks.mkdir(parents=True)

    def start(self):
        subprocess.run(["bash", str(self.script)], env=self.environment, check=True, capture_output=True)

    def sync(self):
        """The 5-minute copy (cron, and the idle stop before it stops the instance)."""
        time.sleep(0.01)  # a later modification time than the files before it, as minutes apart would give
        subprocess.run(["bash", str(self.home / "kit-sync.sh")], env=self.environment, check=True)


@pytest.fixture(scope="module")
def on_start():
    return _notebook_stack()[1]


@pytest.fixture
def notebook(tmp_path, on_start):
    return Notebook(tmp_path, on_start)


def test_an_edited_example_survives_the_next_start_and_a_new_volume(notebook):
    """The kit put its example in the home folder on every start, and the next sync copied it over the user's
    saved copy: a day's edits gone from the instance and from the bucket (a noncurrent version in production, gone
    in the sandbox)."""
    notebook.start()
    notebook.sync()
    assert (notebook.notebooks / EXAMPLE).read_text() == 'print("the kit\'s example")\n'
    edited = 'print("the kit\'s example")\n# tuned: a day of work\n'
    time.sleep(0.01)
    (notebook.notebooks / EXAMPLE).write_text(edited)
    notebook.sync()
    notebook.start()  # after an idle stop: the same volume
    notebook.sync()
    assert (notebook.notebooks / EXAMPLE).read_text() == edited
    assert (notebook.saved / EXAMPLE).read_text() == edited
    for path in sorted(notebook.home.rglob("*"), reverse=True):  # a new volume: churn_notebook off and on again
        path.unlink() if path.is_file() else path.rmdir()
    notebook.notebooks.mkdir(parents=True)
    notebook.start()
    notebook.sync()
    assert (notebook.notebooks / EXAMPLE).read_text() == edited
    assert (notebook.saved / EXAMPLE).read_text() == edited


def test_the_example_is_put_back_when_the_home_folder_has_none(notebook):
    """The other half of the rule above: the example still reaches a home folder without one."""
    notebook.start()
    (notebook.notebooks / EXAMPLE).unlink()
    notebook.sync()
    notebook.start()
    assert (notebook.notebooks / EXAMPLE).read_text() == 'print("the kit\'s example")\n'
