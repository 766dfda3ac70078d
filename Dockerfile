# syntax=docker/dockerfile:1
#
# cliser server image: a static binary on distroless, running as non-root,
# configured only by environment. See docs/operations.md ("Containers").
#
#   docker build -t cliser:local --build-arg VERSION=$(git describe --always) .
#   docker run -e CLISER_PASSWORD=... -p 7070:7070 -p 127.0.0.1:7071:7071 \
#              -v cliser-data:/data cliser:local

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# CGO off: a static binary that needs no libc in the final image.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/cliser ./cmd/cliser \
 && mkdir -p /out/data

# distroless/static: CA certificates, tzdata, /etc/passwd with "nonroot"
# (65532), and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cliser /cliser
# /data must belong to the runtime user: a named volume mounted there takes
# this ownership when it is first created.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532

# Configuration is environment only (every flag of `cliser serve` is
# CLISER_<FLAG>). The admin listener binds all interfaces inside the
# container so that probes and `docker exec` reach it; publish it only to
# trusted networks and set CLISER_ADMIN_TOKEN.
ENV CLISER_LISTEN=:7070 \
    CLISER_ADMIN_LISTEN=:7071 \
    CLISER_DATA_DIR=/data
EXPOSE 7070 7071
VOLUME ["/data"]

# Exec form: there is no shell. `cliser health` finds the admin listener
# from CLISER_ADMIN_LISTEN and GETs /healthz (no token needed).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/cliser", "health"]

# SIGTERM (docker stop) drains: clients hear "190 server shutting down",
# the registry is written, exit 0. Give it more than --shutdown-timeout
# (default 10s): docker stop -t 15.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/cliser"]
CMD ["serve"]
