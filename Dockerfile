# milogin in a container: one binary, one config file, SQLite in a volume, a non-root user.
#
#   docker build -t milogin .
#   docker run -p 8080:8080 -v milogin-data:/var/lib/milogin \
#     -v $PWD/milogin.toml:/etc/milogin/milogin.toml:ro \
#     -e XIAOMI_APP_SECRET=… milogin
#
# In milogin.toml: listen = "0.0.0.0:8080" (or MILOGIN_SERVER__LISTEN, set below),
# database_url = "sqlite:///var/lib/milogin/milogin.db" (the widget and the designer are built into the binary),
# secrets as { env = "XIAOMI_APP_SECRET" }. TLS belongs to the reverse proxy in front
# (README, "Behind a reverse proxy"). Not built in this repository's CI (no container engine
# there): an example to start from.

FROM rust:1.89-bookworm AS build
# npm: wasm-opt (binaryen 132) and terser for the widget, from the committed package-lock.json.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
RUN cargo xtask build-widget && cargo xtask build-designer && cargo build --release --locked -p milogin-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/milogin --shell /usr/sbin/nologin milogin \
 && install -d -o milogin -g milogin -m 0700 /var/lib/milogin \
 && install -d -m 0755 /etc/milogin
COPY --from=build /src/target/release/milogin /usr/local/bin/milogin
USER milogin
VOLUME ["/var/lib/milogin"]
ENV MILOGIN_SERVER__LISTEN=0.0.0.0:8080 MILOGIN_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/milogin"]
CMD ["serve", "--config", "/etc/milogin/milogin.toml"]
