"""Shared helpers of the deployment checks: rendering the chart, reading the Dockerfile, dpkg look-ups."""

from __future__ import annotations

import os
import re
from functools import lru_cache
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "purview-gateway"
DOCKERFILE = REPO / "Dockerfile"
RELEASE = "pg"
NAMESPACE = "purview"
FULLNAME = f"{RELEASE}-purview-gateway"


def render(values: dict[str, Any]) -> dict[str, str]:
    """Helm's own engine (helm-python-sdk), with schema validation, as `helm template` would."""
    import helm_python

    with helm_python.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE)


@dataclass
class Rendered:
    """The manifests of one render, parsed; NOTES.txt kept as text."""

    documents: list[dict[str, Any]]
    notes: str

    @classmethod
    def of(cls, values: dict[str, Any]) -> Rendered:
        documents: list[dict[str, Any]] = []
        notes = ""
        for path, text in sorted(render(values).items()):
            if path.endswith("NOTES.txt"):
                notes = text
                continue
            documents.extend(doc for doc in yaml.safe_load_all(text) if doc)
        return cls(documents, notes)

    def kinds(self) -> list[str]:
        return sorted(doc["kind"] for doc in self.documents)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if doc["kind"] == kind]

    def one(self, kind: str, name: str = FULLNAME) -> dict[str, Any]:
        found = [doc for doc in self.all(kind) if doc["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)} (kinds: {self.kinds()})"
        return found[0]

    def gateway_container(self) -> dict[str, Any]:
        containers = self.one("Deployment")["spec"]["template"]["spec"]["containers"]
        return next(c for c in containers if c["name"] == "gateway")

    def gateway_config(self) -> dict[str, str]:
        return self.one("ConfigMap")["data"]


# Dockerfile -------------------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for instruction, arguments in self.instructions if instruction == keyword]


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    @classmethod
    def parse(cls, text: str) -> Dockerfile:
        """Joins continuation lines, drops comments; enough for this project's Dockerfile."""
        logical: list[str] = []
        pending = ""
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("#") or (not line and not pending):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            logical.append(pending + line)
            pending = ""
        args: dict[str, str] = {}
        stages: list[Stage] = []
        for line in logical:
            instruction, _, arguments = line.partition(" ")
            instruction = instruction.upper()
            arguments = arguments.strip()
            if instruction == "FROM":
                words = arguments.split()
                name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
                stages.append(Stage(words[0], name))
            elif not stages and instruction == "ARG":
                key, _, default = arguments.partition("=")
                args[key] = default
            elif stages:
                stages[-1].instructions.append((instruction, arguments))
        return cls(args, stages)

    def resolved_base(self, stage: Stage) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: self.args.get(m.group(1), m.group(0)), stage.base)


def apt_installed_packages(run_arguments: list[str]) -> list[str]:
    """The package names of every `apt-get install` in these RUN instructions."""
    packages: list[str] = []
    for arguments in run_arguments:
        for command in re.split(r"&&|;|\|\|", arguments):
            words = shlex.split(command)
            if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
                after = words[words.index("install") + 1 :]
                packages.extend(word for word in after if not word.startswith("-"))
    return packages


# dpkg -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def package_owning(path: str) -> str | None:
    """The Debian package that installed `path` (tries the merged-/usr spellings and the real file)."""
    candidates: list[str] = []
    for spelling in (path, os.path.realpath(path)):
        candidates.append(spelling)
        if spelling.startswith("/usr/"):
            candidates.append(spelling[len("/usr") :])
        else:
            candidates.append("/usr" + spelling)
    for candidate in dict.fromkeys(candidates):
        result = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            # "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3"
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


@lru_cache(maxsize=None)
def package_dependencies(package: str) -> tuple[str, ...]:
    """Depends and Pre-Depends of an installed package; the first choice of each alternative."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", package], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (
        f"{package} is not installed on this machine, so its dependencies cannot be read "
        f"(bash .ci/setup installs the -dev packages that bring it): {result.stderr.strip()}"
    )
    dependencies = []
    for clause in result.stdout.split(","):
        first = clause.split("|")[0].strip()
        if first:
            dependencies.append(re.split(r"[\s:(]", first, maxsplit=1)[0])
    return tuple(dependencies)


def dependency_closure(packages: list[str]) -> set[str]:
    """What `apt-get install` brings for `packages`, as dpkg on this (same Debian release) machine says."""
    seen: set[str] = set()
    queue = list(packages)
    while queue and len(seen) < 2000:
        package = queue.pop()
        if package in seen:
            continue
        seen.add(package)
        queue.extend(dep for dep in package_dependencies(package) if dep not in seen and _installed(dep))
    return seen


@lru_cache(maxsize=None)
def _installed(package: str) -> bool:
    # Virtual packages (debconf-2.0) and unchosen alternatives are not installed: nothing to follow.
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and "install ok installed" in result.stdout


def shared_libraries(binary: Path) -> list[tuple[str, str | None]]:
    """`ldd`: (soname, resolved path or None when not found); the vDSO has no file and is left out."""
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True)
    libraries: list[tuple[str, str | None]] = []
    for line in result.stdout.splitlines():
        line = line.strip()
        if "=>" in line:
            soname, _, rest = line.partition("=>")
            target = rest.strip().split(" (")[0].strip()
            libraries.append((soname.strip(), None if target == "not found" else target))
        elif line.startswith("/"):
            path = line.split(" (")[0]
            libraries.append((os.path.basename(path), path))
    return libraries
