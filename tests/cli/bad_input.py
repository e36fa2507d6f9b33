"""Harness of the table-driven bad-input suites (``tests/cli/test_bad_input*.py``).

A :class:`Case` is one command line (``spin-echo ARGS``) with the files it needs, written into an
empty working folder, and the text its one-line message must contain (the location: ``file:line``
and the key). :func:`check_case` runs it and asserts the contract of every bad input:

- exit status 2;
- no ``Traceback`` anywhere in the output;
- exactly one message line on stderr (an argparse usage block before it is allowed), naming
  every string of ``Case.where``;
- no file in the working folder created, removed or modified.

Two ways to run a case:

- in the test process (:func:`run_in_process`, ``spin_echo.echo.cli.main.main``): milliseconds
  a case, for the great majority, whose input is refused while parsing;
- in a subprocess (:func:`run_in_subprocess`) with an address-space limit (``RLIMIT_AS``,
  :data:`MEMORY_LIMIT_BYTES`) and a wall-clock timeout (:data:`TIMEOUT_S`): for the cases whose
  failure mode is a hang or a memory blow-up (``Case.isolated``).

:func:`classify` names the outcome of a run (``exit 2``, ``exit 2 unlocated``, ``traceback``,
``hang``, ``memory``, ``exit 0``, ``exit N``) so that a table can be tallied before and after a
fix (:func:`tally`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MEMORY_LIMIT_BYTES",
    "TIMEOUT_S",
    "Case",
    "Fifo",
    "Outcome",
    "Symlink",
    "check_case",
    "classify",
    "prepare",
    "run_case",
    "run_in_process",
    "run_in_subprocess",
    "snapshot",
    "tally",
]

#: Address-space limit of an isolated case, bytes.
MEMORY_LIMIT_BYTES = 2 * 1024**3
#: Wall-clock limit of an isolated case, seconds.
TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Fifo:
    """A named pipe to create in the working folder (nobody ever writes to it)."""


@dataclass(frozen=True)
class Symlink:
    """A symbolic link to ``target`` to create in the working folder."""

    target: str


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes
    ----------
    id
        Test id (unique in its table).
    args
        The arguments after ``spin-echo``.
    files
        Name -> content (text, bytes, :class:`Fifo` or :class:`Symlink`) written into the
        working folder before the run.
    where
        Strings the one-line message must contain: the location (``p.yaml:7``, ``--set``,
        ``--packets``) and the key.
    isolated
        Run in a subprocess with memory and time limits (hang and memory classes).
    """

    id: str
    args: tuple[str, ...]
    files: Mapping[str, str | bytes | Fifo | Symlink] = field(default_factory=dict)
    where: tuple[str, ...] = ()
    isolated: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a run did: exit status (None when it was killed for time), output, duration."""

    status: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def prepare(case: Case, folder: Path) -> None:
    """Write the files of ``case`` into ``folder``."""
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, Symlink):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def snapshot(folder: Path) -> dict[str, tuple[int, int, int, str]]:
    """Return ``{relative path: (mode, size, mtime_ns, sha256)}`` of everything under ``folder``.

    Links and special files are not followed or read (a FIFO would block).
    """
    result = {}
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            info = path.lstat()
            digest = ""
            if path.is_file() and not path.is_symlink():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            result[str(path.relative_to(folder))] = (
                info.st_mode,
                info.st_size,
                info.st_mtime_ns,
                digest,
            )
    return result


def _command() -> list[str]:
    script = Path(sys.executable).with_name("spin-echo")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "spin_echo.echo.cli"]


def _limit_memory(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def run_in_subprocess(
    args: Iterable[str],
    folder: Path,
    *,
    timeout_s: float = TIMEOUT_S,
    memory_bytes: int = MEMORY_LIMIT_BYTES,
) -> Outcome:
    """Run ``spin-echo ARGS`` in ``folder`` with an address-space limit and a timeout.

    The process runs in its own session; on timeout the whole group is killed.
    """
    env = {**os.environ, "PYTHONFAULTHANDLER": "", "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    proc = subprocess.Popen(
        [*_command(), *args],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: _limit_memory(memory_bytes),
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Outcome(None, out, err, time.monotonic() - start, timed_out=True)
    return Outcome(proc.returncode, out, err, time.monotonic() - start)


def run_in_process(args: Iterable[str], folder: Path) -> Outcome:
    """Run ``spin_echo.echo.cli.main.main(ARGS)`` in this process with ``folder`` as cwd.

    An exception escaping ``main`` is recorded as a traceback on stderr with status 1, as the
    interpreter would print it.
    """
    from spin_echo.echo.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    start = time.monotonic()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exit_:
                code = exit_.code
                status = code if isinstance(code, int) else (0 if code is None else 1)
            except Exception:  # the case under test found a bug: report it as Python would
                err.write(traceback.format_exc())
                status = 1
    finally:
        os.chdir(previous)
    return Outcome(status, out.getvalue(), err.getvalue(), time.monotonic() - start)


def run_case(case: Case, folder: Path, *, isolated: bool | None = None) -> Outcome:
    """Prepare ``case`` in ``folder`` and run it (in a subprocess when isolated)."""
    prepare(case, folder)
    if case.isolated if isolated is None else isolated:
        return run_in_subprocess(case.args, folder)
    return run_in_process(case.args, folder)


def _message_lines(stderr: str) -> list[str]:
    """Lines of stderr other than an argparse usage block (``usage:`` and its indented rest)."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(("usage:", " "))
    ]


def classify(outcome: Outcome, where: Iterable[str] = ()) -> str:
    """Name the outcome: ``exit 2``, ``exit 2 unlocated``, ``traceback``, ``hang``, ``memory``,
    ``exit 0`` or ``exit N`` (``exit 2`` means one line naming every string of ``where``)."""
    text = outcome.stdout + outcome.stderr
    if outcome.timed_out:
        return "hang"
    if any(s in text for s in ("MemoryError", "Unable to allocate", "bad_alloc")):
        return "memory"
    if outcome.status is not None and outcome.status < 0:
        return "memory" if outcome.status == -signal.SIGKILL else f"signal {-outcome.status}"
    if "Traceback" in text:
        return "traceback"
    if outcome.status == 2:
        lines = _message_lines(outcome.stderr)
        located = len(lines) == 1 and all(s in lines[0] for s in where)
        return "exit 2" if located else "exit 2 unlocated"
    return f"exit {outcome.status}"


def check_case(case: Case, folder: Path, *, isolated: bool | None = None) -> Outcome:
    """Run ``case`` in the empty folder ``folder`` and assert the bad-input contract.

    Returns the outcome (for further checks by the caller).
    """
    prepare(case, folder)
    before = snapshot(folder)
    if case.isolated if isolated is None else isolated:
        outcome = run_in_subprocess(case.args, folder)
    else:
        outcome = run_in_process(case.args, folder)
    kind = classify(outcome, case.where)
    assert kind == "exit 2", (
        f"{case.id}: {kind} (expected exit 2, one line naming {case.where}) after "
        f"{outcome.seconds:.1f} s\nstdout: {outcome.stdout[-2000:]}\n"
        f"stderr: {outcome.stderr[-4000:]}"
    )
    after = snapshot(folder)
    assert after == before, (
        f"{case.id}: the working folder changed: created {sorted(set(after) - set(before))}, "
        f"removed {sorted(set(before) - set(after))}, modified "
        f"{sorted(k for k in before.keys() & after.keys() if before[k] != after[k])}"
    )
    return outcome


def tally(cases: Iterable[Case], root: Path, *, isolated: bool = True) -> Counter[str]:
    """Run every case (each in its own folder under ``root``) and count the outcomes.

    ``isolated=True`` runs all of them in subprocesses with limits (safe on unfixed code).
    Prints one line per case that is not ``exit 2``.
    """
    counts: Counter[str] = Counter()
    for i, case in enumerate(cases):
        folder = root / f"{i:03d}"
        folder.mkdir(parents=True)
        prepare(case, folder)
        before = snapshot(folder)
        outcome = (
            run_in_subprocess(case.args, folder) if isolated else run_in_process(case.args, folder)
        )
        kind = classify(outcome, case.where)
        if kind == "exit 2" and snapshot(folder) != before:
            kind = "exit 2 but files changed"
        counts[kind] += 1
        if kind != "exit 2":
            last = (outcome.stderr.strip().splitlines() or [""])[-1]
            print(f"{case.id}: {kind} ({outcome.seconds:.1f} s): {last[:160]}", flush=True)
    return counts
