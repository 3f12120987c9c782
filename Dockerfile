# syntax=docker/dockerfile:1
# ocean-export in a container: built in a Rust image, run from a slim Debian one as a non-root user.
#   docker build -t ocean-export .
#   docker run --rm -e OCEAN_API_TOKEN -v "$PWD/jobs:/jobs:ro" -v ocean-state:/var/lib/ocean-export \
#     ocean-export run /jobs/nightly.toml --log-format json
# Exit codes are the tool's own (see `ocean-export --help`); a scheduler can act on them.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# No .git in the build context: name the commit for `--version` and the reports.
ARG OCEAN_BUILD_COMMIT=""
# Cache mounts keep the crate registry and target/ between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package ocean-export --bin ocean-export \
    && cp target/release/ocean-export /usr/local/bin/ocean-export

FROM debian:bookworm-slim
# CA certificates for HTTPS to the API and to object storage; nothing else. Not pinned: the newest
# certificates of the release are the point.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/ocean-export --create-home --shell /usr/sbin/nologin ocean
COPY --from=build /usr/local/bin/ocean-export /usr/local/bin/ocean-export
COPY jobs/ /usr/share/ocean-export/jobs/
USER 10001:10001
WORKDIR /var/lib/ocean-export
# The state folder (checkpoints, partial files) belongs on a volume, so a new container resumes.
VOLUME ["/var/lib/ocean-export"]
ENTRYPOINT ["/usr/local/bin/ocean-export"]
CMD ["--help"]
