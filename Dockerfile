# syntax=docker/dockerfile:1
# The purview-gateway image: a release build with the Swift standard library linked in statically,
# on debian:bookworm-slim with only the C libraries the binary loads. See docs/DEPLOY.md.
#
#   docker build -t purview-gateway:dev --build-arg VERSION=1.2.3 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Tests/deploy checks this file: hadolint with warnings as failures, and `ldd` of a release binary
# built the same way against the packages the runtime stage installs.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS builder
# Headers and pkg-config files for the C libraries the package links (Package.swift's system libraries).
# Versions are not pinned: the tag pins the Debian release, and a rebuild picks up its security fixes
# (pinned versions disappear from the archive with each security update and break the build).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev zlib1g-dev libsqlite3-dev libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
# The build cache survives between image builds; the binary is copied out of it in the same step.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product purview-gateway --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/purview-gateway" /out/purview-gateway \
    && strip --strip-debug /out/purview-gateway

FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE_URL=""
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="purview-gateway" \
      org.opencontainers.image.description="Gateway in front of Microsoft Purview's Workflow API, with a Purview Workflow emulator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="${LICENSES}"

# Only what the binary loads at run time (libpq5 brings its own Kerberos/LDAP dependencies) and the
# CA bundle for Azure's endpoints. Same reason as above for unpinned versions.
# A named user with a fixed numeric id: libpq looks the user up (getpwuid) when the URL names none.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g libsqlite3-0 libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 purview-gateway \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/purview-gateway --no-create-home \
        --shell /usr/sbin/nologin purview-gateway \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/purview-gateway

COPY --from=builder /out/purview-gateway /usr/local/bin/purview-gateway

# The root filesystem can be read-only: the only state (the SQLite store) lives in the volume.
ENV GATEWAY_LISTEN=0.0.0.0:8080 \
    GATEWAY_DATABASE_URL=sqlite:///var/lib/purview-gateway/gateway.db \
    HOME=/var/lib/purview-gateway
WORKDIR /var/lib/purview-gateway
VOLUME ["/var/lib/purview-gateway"]
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/purview-gateway"]
CMD ["serve"]
