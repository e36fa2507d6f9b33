"""``spin-echo watch`` end to end: bad input, a finished record, and the page in a real browser.

The browser tests drive Debian's chromium through its chromedriver (selenium) against a real
``watch`` process serving a record that a real ``simulate`` process writes slowly (its progress
callback sleeps between points); they are skipped, saying why, where chromium is not installed
(CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from spin_echo.echo.cli.main import main
from tests.echo.live.records import write

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

#: A real simulation of the built-in hahn-echo (12 points) that sleeps argv[2] s after each point.
SLOW_WRITER = """
import sys, time
from spin_echo.echo.runs.simulation import simulate_protocol
from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample

def progress(done, total):
    print(done, flush=True)
    time.sleep(float(sys.argv[2]))

simulate_protocol(load_protocol("hahn-echo"), load_sample("bare-t2"), sys.argv[1], packets=200,
                  progress=progress)
"""


def spin_echo(*args):
    """Start ``spin-echo ARGS`` with the page view (no display), output piped."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.Popen(
        [sys.executable, "-m", "spin_echo.echo.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def page_url(watch):
    """Read the page's address from the first line ``watch`` prints."""
    line = watch.stdout.readline()
    match = re.match(r"watch: (http://127\.0\.0\.1:\d+/)  \(Ctrl-C to stop\)$", line)
    assert match, (line, watch.stderr.read() if watch.poll() is not None else "")
    return match.group(1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.nc"], "missing.nc: record file not found"),
        (["missing.nc", "--wait", "0.2"], "record file not found after waiting 0.2 s"),
        (["notes.txt"], "notes.txt: cannot read record: "),
        (["rec.nc", "--port", "70000"], "--port = 70000: must be a TCP port from 1 to 65535"),
        (["rec.nc", "--port", "-1"], "--port = -1: must be a TCP port"),
        (["rec.nc", "--interval", "0"], "--interval = 0.0: must be a number of seconds, more"),
        (["rec.nc", "--stale", "-5"], "--stale = -5.0: must be a number of seconds"),
        (["rec.nc", "--wait", "nan"], "--wait = nan: must be a number of seconds, zero or more"),
        (["rec.nc", "--view", "browser"], "argument --view: invalid choice: 'browser'"),
        (["rec.nc", "--port", "http"], "argument --port: must be a whole number, got 'http'"),
    ],
)
def test_bad_input_exits_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "rec.nc", 12)
    (tmp_path / "notes.txt").write_text("not a record\n")
    try:
        status = main(["watch", *args])
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(("spin-echo: error: ", "spin-echo watch: error"))


def test_a_complete_record_ends_at_once(tmp_path, capsys):
    record = write(tmp_path / "rec.nc", 12)
    assert main(["watch", str(record), "--view", "web"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"watch: http://127\.0\.0\.1:\d+/  \(Ctrl-C to stop\)$", out[0])
    assert out[1].startswith("watch: complete: 12 of 12 points — A = ")
    assert "T_M = " in out[1] and out[-1] == f"watch: {record} is complete (12 points)"


def test_window_asked_for_without_a_window_backend_serves_the_page(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "agg")
    record = write(tmp_path / "rec.nc", 12)
    assert main(["watch", str(record), "--view", "window"]) == 0
    captured = capsys.readouterr()
    assert "matplotlib has no window backend here; serving the page" in captured.err
    assert "watch: http://127.0.0.1:" in captured.out and "is complete (12 points)" in captured.out


def test_quiet_prints_only_the_address(tmp_path, capsys):
    record = write(tmp_path / "rec.nc", 12)
    assert main(["watch", str(record), "--view", "web", "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("watch: http://127.0.0.1:")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless chromium through the system chromedriver; skipped where they are missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install chromium "
                    "chromium-driver; .ci/run does)")  # fmt: skip
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)  # fmt: skip
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def text(driver, element_id):
    return driver.find_element("id", element_id).text


def wait_for(driver, condition, what, timeout_s=60.0):
    """Wait until ``condition(driver)`` is truthy; return it (fail naming ``what``)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout_s, poll_frequency=0.05).until(condition)
    except TimeoutException:
        shown = {i: text(driver, i) for i in ("status", "message", "points", "report")}
        pytest.fail(f"the page never showed {what}; it shows {shown}")


def points(driver):
    match = re.fullmatch(r"(\d+) / 12", text(driver, "points"))
    return int(match.group(1)) if match else None


def test_the_page_follows_a_run_to_the_end(tmp_path, browser):
    record = tmp_path / "live.nc"
    writer = spin_echo_writer(record, pause_s=0.5)
    watch = spin_echo("watch", str(record), "--view", "web", "--interval", "0.2", "--wait", "60")
    try:
        browser.get(page_url(watch))
        first = wait_for(browser, lambda d: (n := points(d)) and n < 12 and n,
                         "a first part of the points")  # fmt: skip
        assert text(browser, "status") == "running"
        later = wait_for(browser, lambda d: (n := points(d)) and n > first and n,
                         f"more than {first} points")  # fmt: skip
        assert later > first
        wait_for(browser, lambda d: "T_M = " in text(d, "report"), "the fit's T_M")
        wait_for(browser, lambda d: text(d, "status") == "complete", "the status complete")
        assert points(browser) == 12
        assert re.search(r"T_M = 2\d\.\d+ ± \d\.\d+ µs", text(browser, "report"))
        image = browser.find_element("id", "figure")
        assert browser.execute_script("return arguments[0].naturalWidth", image) > 500
        assert watch.wait(timeout=30) == 0
        assert writer.wait(timeout=30) == 0
        out = watch.stdout.read()
        assert f"watch: {record} is complete (12 points)" in out
    finally:
        for process in (watch, writer):
            process.kill()
            process.wait()


def spin_echo_writer(record, *, pause_s):
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(record), str(pause_s)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_the_page_shows_a_failed_run_and_a_vanished_record(tmp_path, browser):
    record = tmp_path / "live.nc"
    writer = spin_echo_writer(record, pause_s=0.4)
    watch = spin_echo("watch", str(record), "--view", "web", "--interval", "0.2", "--wait", "60")
    try:
        browser.get(page_url(watch))
        wait_for(browser, lambda d: (points(d) or 0) >= 2, "two points")
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        wait_for(browser, lambda d: text(d, "status") == "error", "the error state")
        assert re.fullmatch(
            r"the run stopped at \d+ of 12 points: no spin-echo process is "
            r"writing the record \(complete = 0\)",
            text(browser, "message"),
        )
        record.unlink()
        wait_for(browser, lambda d: text(d, "message") == "the record file is gone",
                 "the vanished record")  # fmt: skip
        assert text(browser, "status") == "error"
        assert watch.poll() is None  # an error is shown, not the end: a resumed run may come
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=30) == 130
        assert "spin-echo: interrupted" in watch.stderr.read()
        wait_for(browser, lambda d: text(d, "message").startswith("lost contact with spin-echo"),
                 "the lost contact")  # fmt: skip
    finally:
        for process in (watch, writer):
            process.kill()
            process.wait()


def test_simulate_live_starts_the_view_and_the_view_ends_by_itself(tmp_path):
    """--live: the view's address is printed; the view ends once the run has (the pipe closes).

    The second run replaces the record (--overwrite): the view follows its partial file.
    """
    record = tmp_path / "rec.nc"
    for extra in ([], ["--overwrite"]):
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        done = subprocess.run(
            [sys.executable, "-m", "spin_echo.echo.cli", "simulate", "hahn-echo", "--sample",
             "bare-t2", "--packets", "200", "-o", str(record), "--live", *extra],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "watch" not in done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 2 and f"record: {record}" in lines
        assert any(re.fullmatch(r"watch: http://127\.0\.0\.1:\d+/  \(Ctrl-C to stop\)", line)
                   for line in lines)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]
