"""Runs the purview-gateway emulator binary for the Python compatibility tests.

The emulator is started as a user would start it (`purview-gateway emulator --config FILE
--self-signed DIR`), on a free loopback port chosen by the kernel; the URL is read from the line it
prints once it listens. Every wait is bounded; a process that does not stop on SIGTERM is killed.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
LISTENING_LINE = re.compile(r"listening on (https?://\S+)")


def emulator_binary() -> Path:
    """The binary under test: $PURVIEW_GATEWAY_BIN, else the debug build in this checkout."""
    configured = os.environ.get("PURVIEW_GATEWAY_BIN")
    path = Path(configured) if configured else REPO_ROOT / ".build" / "debug" / "purview-gateway"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no emulator binary at {path}: run `swift build --product purview-gateway` "
            "(or Tests/compat/run.sh), or set PURVIEW_GATEWAY_BIN"
        )
    return path


@dataclass
class RunningEmulator:
    """A started emulator: its https origin, the CA file that verifies it, and its config."""

    url: str
    ca_file: str
    config: dict[str, Any]
    process: subprocess.Popen
    log_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def tenant_id(self) -> str:
        return self.config["tenantId"]

    @property
    def principals(self) -> dict[str, dict[str, Any]]:
        """The configured principals by name."""
        return {principal["name"]: principal for principal in self.config["principals"]}

    @property
    def admin_token(self) -> str:
        return self.config["adminToken"]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def request(
        self,
        method: str,
        path_and_query: str,
        *,
        token: str | None = None,
        body: Any = None,
        form: str | None = None,
        timeout: float = 15,
    ) -> tuple[int, dict[str, str], bytes]:
        """One https call (no redirects, no retries); answers (status, headers, body bytes)."""
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = form.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif method in ("POST", "PUT"):
            data = b""
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path_and_query, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(), timeout=timeout) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """An `/_emulator/...` call with the admin token; the parsed JSON answer."""
        status, _, payload = self.request(method, path, token=self.admin_token, body=body)
        if status != 200:
            raise AssertionError(f"{method} {path} answered {status}: {payload[:500]!r}")
        return json.loads(payload) if payload else None

    def effects(self) -> list[dict[str, Any]]:
        return self.admin("GET", "/_emulator/effects")["value"]

    def emails(self) -> list[dict[str, Any]]:
        return self.admin("GET", "/_emulator/emails")["value"]

    def token_for(self, principal: dict[str, Any], scope: str = "https://purview.azure.net/.default") -> str:
        """A client-credentials token for a configured principal, straight from the token endpoint."""
        form = urllib.parse.urlencode(
            {
                "client_id": principal["clientId"],
                "client_secret": principal["clientSecret"],
                "grant_type": "client_credentials",
                "scope": scope,
            }
        )
        status, _, payload = self.request("POST", f"/{self.tenant_id}/oauth2/v2.0/token", form=form)
        if status != 200:
            raise AssertionError(f"token request for {principal['name']} answered {status}: {payload!r}")
        return json.loads(payload)["access_token"]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_SECONDS; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode


def start_emulator(config: dict[str, Any], workdir: Path) -> RunningEmulator:
    """Writes `config`, starts the emulator with a self-signed certificate made in `workdir`, and
    waits (bounded) for its "listening on https://..." line."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "emulator-config.json"
    config_path.write_text(json.dumps(config, indent=2))
    tls_dir = workdir / "tls"
    log_path = workdir / "emulator.log"
    environment = dict(os.environ, LOG_LEVEL=os.environ.get("EMULATOR_LOG_LEVEL", "info"))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(emulator_binary()),
                "emulator",
                "--listen",
                "127.0.0.1:0",
                "--config",
                str(config_path),
                "--self-signed",
                str(tls_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=environment,
        )
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                break
            if not selector.select(timeout=min(remaining, 0.5)):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.decode(errors="replace")
                lines.append(line)
                match = LISTENING_LINE.search(line)
                if match:
                    url = match.group(1)
    finally:
        selector.close()
    emulator = RunningEmulator(
        url=url or "", ca_file=str(tls_dir / "cert.pem"), config=config, process=process, log_path=log_path,
        stdout_lines=lines,
    )
    if url is None:
        code = emulator.stop()
        raise RuntimeError(
            f"the emulator did not report listening within {START_TIMEOUT_SECONDS}s (exit {code}); "
            f"stdout: {lines!r}; log:\n{emulator.log_tail()}"
        )
    if not url.startswith("https://"):
        emulator.stop()
        raise RuntimeError(f"the emulator listens on {url}, expected https")
    return emulator
