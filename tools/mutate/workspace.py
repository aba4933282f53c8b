"""A private copy of the project per worker: mutants compile and run there without sharing `.build`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.mutate.operators import Mutant

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["contracts", "interfaces", "tests", "ringfence", "scripts", "markets", "scenarios", "docs",
          "deployments", "bots", "tools", "ape-config.yaml", "pyproject.toml", "slither.triage.json"]
LINKED = ["node_modules", ".solcx"]
IGNORED = shutil.ignore_patterns(".cache", "__pycache__", ".hypothesis", "*.pyc")


@dataclass
class Result:
    """What one command did: its exit status, output tail and duration."""

    returncode: int
    output: str
    seconds: float


class Workspace:
    """A temp directory holding a copy of the project (node_modules and the compiler linked)."""

    def __init__(self, root: Path = ROOT, parent: Path | None = None) -> None:
        self.root = root
        self.path = Path(tempfile.mkdtemp(prefix="ringfence-mutant-", dir=parent))
        for name in COPIED:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, self.path / name, ignore=IGNORED, symlinks=True)
            elif src.exists():
                shutil.copy2(src, self.path / name)
        for name in LINKED:
            if (root / name).exists():
                os.symlink(root / name, self.path / name)
        (self.path / "reports").mkdir()
        self._pristine: dict[str, str] = {}
        self.proc: subprocess.Popen[str] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SOLCX_BINARY_PATH"] = str(self.path / ".solcx")
        env["PYTHONPATH"] = str(self.path)
        env["APE_TESTING_FAIL_IF_NO_PROVIDER"] = "1"
        env.pop("PYTEST_ADDOPTS", None)
        return env

    def run(self, args: list[str], timeout: float) -> Result:
        t0 = time.monotonic()
        self.proc = subprocess.Popen(args, cwd=self.path, env=self.env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
            code = self.proc.returncode
        except subprocess.TimeoutExpired:
            self.stop()
            out, code = f"timeout after {timeout:.0f} s\n", 124
        finally:
            self.proc = None
        return Result(code, out, time.monotonic() - t0)

    def stop(self) -> None:
        """Ends the running command and its children (its own process group)."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def ape(self, *args: str, timeout: float = 1800) -> Result:
        ape = Path(sys.executable).with_name("ape")
        return self.run([str(ape), *args], timeout)

    def compile(self) -> Result:
        return self.ape("compile", "--force", timeout=900)

    def apply(self, mutant: Mutant) -> None:
        target = self.path / mutant.path
        text = self._pristine.setdefault(mutant.path, target.read_text())
        target.write_text(mutant.apply(text))

    def restore(self) -> None:
        for rel, text in self._pristine.items():
            (self.path / rel).write_text(text)
        self._pristine.clear()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.path, ignore_errors=True)
