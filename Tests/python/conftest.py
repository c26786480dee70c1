"""Fixtures shared by the compatibility tests: the network environment the SDK needs and a factory
that starts emulators and stops every one of them at the end of the session."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from emulator_harness import RunningEmulator, emulator_binary, start_emulator


@pytest.fixture(scope="session", autouse=True)
def local_network_environment():
    """As docs/PURVIEW.md §9 says: no proxy for loopback, and no regional authority (which would
    send MSAL to a region-specific Microsoft host instead of the emulator)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
        patch.setenv("no_proxy", "127.0.0.1,localhost,::1")
        patch.delenv("AZURE_REGIONAL_AUTHORITY_NAME", raising=False)
        yield


@pytest.fixture(scope="session")
def launch_emulator(tmp_path_factory) -> Callable[[dict[str, Any], str], RunningEmulator]:
    """`launch_emulator(config, name)` starts an emulator in a fresh temp directory."""
    emulator_binary()  # fail early, with the build hint, when the binary is missing
    started: list[RunningEmulator] = []

    def launch(config: dict[str, Any], name: str) -> RunningEmulator:
        emulator = start_emulator(config, Path(tmp_path_factory.mktemp(name)))
        started.append(emulator)
        return emulator

    yield launch
    unclean = []
    for emulator in started:
        already_stopped = emulator.process.poll() is not None
        code = emulator.stop()
        if code != 0 and not already_stopped:
            unclean.append(f"{emulator.url} exited with {code} after SIGTERM:\n{emulator.log_tail()}")
    # The emulator exits 0 after SIGTERM (docs/EMULATOR.md).
    assert not unclean, "\n".join(unclean)


REPLAY_SUMMARY: list[str] = []


@pytest.fixture(scope="session")
def replay_summary() -> list[str]:
    """Lines describing what each replayed recording compared, printed after the run."""
    return REPLAY_SUMMARY


def pytest_terminal_summary(terminalreporter):
    if REPLAY_SUMMARY:
        terminalreporter.section("recordings replayed through the emulator")
        for line in REPLAY_SUMMARY:
            terminalreporter.write_line(line)
