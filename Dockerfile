# cliser server image: the static binary that `make build` produced, a CA
# bundle, and nothing else. Build it with `make image` (podman or docker;
# see docs/operations.md, "Containers"): the binary is built outside, the
# image only copies it, so the build needs no base image and no registry.
#
# The build context is the directory `make image` stages, bin/image/:
#   cliser                  bin/cliser, CGO off (no libc needed)
#   ca-certificates.crt     the host's bundle, for webhooks over HTTPS and
#                           NATS over TLS
#   data/                   an empty directory, to become /data
#
#   make image                      # cliser:<version> and cliser:latest
#   podman run -e CLISER_PASSWORD=... -p 7070:7070 -p 127.0.0.1:7071:7071 \
#              -v cliser-data:/data cliser:latest

FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY cliser /cliser
# /data must belong to the runtime user: a named volume mounted there takes
# this ownership when it is first created.
COPY --chown=65532:65532 data /data
# A numeric user: scratch has no /etc/passwd to look a name up in.
USER 65532:65532

# Configuration is environment only (every flag of `cliser serve` is
# CLISER_<FLAG>). The admin listener binds all interfaces inside the
# container so that probes and `podman exec` reach it; publish it only to
# trusted networks and set CLISER_ADMIN_TOKEN.
ENV CLISER_LISTEN=:7070 \
    CLISER_ADMIN_LISTEN=:7071 \
    CLISER_DATA_DIR=/data
EXPOSE 7070 7071
VOLUME ["/data"]

# Exec form: there is no shell. `cliser health` finds the admin listener
# from CLISER_ADMIN_LISTEN and GETs /healthz (no token needed). podman
# keeps a HEALTHCHECK only in the docker image format (`make image` asks
# for it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/cliser", "health"]

# SIGTERM (podman/docker stop) drains: clients hear "190 server shutting
# down", the registry is written, exit 0. Give it more than
# --shutdown-timeout (default 10s): stop -t 15.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/cliser"]
CMD ["serve"]
