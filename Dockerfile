# FlowMonkey Store: flowmonkey-server and flowmonkeyctl on Debian 12.
#   docker build -t flowmonkey-store .
#   docker run -e DATABASE_URL='host=db user=postgres dbname=postgres' -p 50051:50051 flowmonkey-store
# The build stage runs the same scripts as CI (scripts/install-deps, scripts/build).

FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update -qq \
 && scripts/install-deps \
 && FM_BUILD_DIR=/build FM_BUILD_TYPE=Release scripts/build \
 && strip /build/flowmonkey-server /build/flowmonkeyctl

FROM debian:bookworm-slim AS runtime
# Runtime libraries only (the -dev packages' shared objects): gRPC, protobuf, libpqxx/libpq,
# spdlog/fmt, abseil, OpenSSL, prometheus-cpp (metrics endpoint), cpp-httplib (console),
# jemalloc (the server's allocator).
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      ca-certificates \
      libgrpc++1.51 libgrpc29 libprotobuf32 \
      libpqxx-6.4 libpq5 \
      libspdlog1.10 libfmt9 \
      libabsl20220623 libsimdjson14 \
      libssl3 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcpp-httplib0.11 \
      libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 flowmonkey \
 && useradd --system --uid 10001 --gid flowmonkey --no-create-home --shell /usr/sbin/nologin flowmonkey
COPY --from=build /build/flowmonkey-server /build/flowmonkeyctl /usr/local/bin/
USER 10001:10001
ENV FM_LISTEN=0.0.0.0:50051 \
    FM_LOG_LEVEL=info
EXPOSE 50051 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["flowmonkeyctl", "--target=127.0.0.1:50051", "health"]
ENTRYPOINT ["flowmonkey-server"]
