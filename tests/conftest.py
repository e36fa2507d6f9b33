"""Options for the whole suite: opt-in checks against real instruments (never run in CI)."""

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--instrument-bench",
        metavar="BENCH.yaml",
        default=None,
        help="run the tests marked 'hardware' against the real instruments of this bench file",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--instrument-bench"):
        return
    hardware = [item for item in items if item.get_closest_marker("hardware")]
    if hardware:
        config.hook.pytest_deselected(items=hardware)
        items[:] = [item for item in items if not item.get_closest_marker("hardware")]


@pytest.fixture
def instrument_bench(request):
    return request.config.getoption("--instrument-bench")
