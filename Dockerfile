# passkeyd: a self-hosted passkey (WebAuthn) server speaking the Passwordless.dev v4 API.
# docker run -p 5701:5701 -v passkeyd:/data passkeyd

FROM rust:1-bookworm AS build
WORKDIR /src
# Networks that intercept TLS: their CA goes in docker/ca/ (see the README there).
COPY docker/ca/ /tmp/extra-ca/
RUN cat /tmp/extra-ca/*.crt >> /etc/ssl/certs/ca-certificates.crt 2>/dev/null || true
# Dependencies first, from a stub crate, so that source edits do not rebuild them.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src src
COPY migrations migrations
COPY openapi.yaml openapi.yaml
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin passkeyd \
    && mkdir -p /data && chown passkeyd:passkeyd /data
COPY --from=build /src/target/release/passkeyd /usr/local/bin/passkeyd
ENV PASSKEYD_LISTEN=0.0.0.0:5701 \
    PASSKEYD_DATABASE_URL=sqlite:///data/passkeyd.db
USER passkeyd
WORKDIR /data
VOLUME ["/data"]
EXPOSE 5701
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/passkeyd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/passkeyd"]
