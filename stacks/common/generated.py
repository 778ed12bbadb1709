"""Sample files generated at synth time, once per content version, inside the app's output folder."""

from __future__ import annotations

import hashlib
import inspect
import shutil
from pathlib import Path
from types import ModuleType
from typing import Callable

from aws_cdk import Stage
from constructs import Construct

_FOLDER = ".generated"
# Folders this process already filled, by content version: every app a test run builds reuses the first one.
_made: dict[str, Path] = {}


def generated_directory(
    scope: Construct, name: str, *, generator: ModuleType, params: dict[str, object], write: Callable[[Path], object]
) -> Path:
    """A folder holding what `write(folder)` writes, made once per content version and reused after that.

    The version is a hash of the generator module's source and `params`, so a deterministic generator gives the
    same folder, the same bytes and the same asset hashes on every synth. It lives under the app's output folder
    (`cdk.out/.generated/` for `cdk synth`), never in the system temp folder, so repeated synths leave nothing
    behind (a new folder only when the generator or its parameters change)."""
    digest = hashlib.sha256(inspect.getsource(generator).encode())
    digest.update(repr(sorted(params.items())).encode())
    version = f"{name}-{digest.hexdigest()[:16]}"
    made = _made.get(version)
    if made is not None and made.is_dir():
        return made
    stage = Stage.of(scope)
    if stage is None:
        raise ValueError(f"{scope.node.path} is not inside a CDK App: sample files go to the app's output folder")
    folder = Path(stage.outdir) / _FOLDER / version
    if not folder.is_dir():
        partial = folder.with_name(f"{version}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        write(partial)
        partial.rename(folder)
    _made[version] = folder
    return folder
