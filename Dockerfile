# newsmon as a long-lived service: one image, one volume (/data), the config
# mounted read-only at /config/sources.yaml, secrets from the environment.
#
#   docker build -t newsmon .
#   docker run -d -v newsmon-data:/data -v ./sources.yaml:/config/sources.yaml:ro newsmon
#
# With podman/buildah, build with `--format docker`: the OCI format has no
# HEALTHCHECK and silently drops it. scripts/container-smoke builds and runs
# this image without a Docker engine.

ARG BASE_IMAGE=debian:bookworm-slim

# --- build: a virtualenv with newsmon and its dependencies ----------------
FROM ${BASE_IMAGE} AS build
LABEL org.opencontainers.image.title="newsmon"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1
RUN python3 -m venv /opt/newsmon
WORKDIR /src
# Dependencies (and the build backend, setuptools) come from requirements.lock:
# exact versions, each file checked against its hash, so two builds of one commit
# install the same thing (`make lock` refreshes the lock). They get their own
# layer: a change to the code neither downloads them again nor needs the network.
# The optional build secret `pip-ca` is a CA bundle for pip behind a
# TLS-inspecting proxy; it is mounted for this step only, never stored:
#   docker build --secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt .
COPY requirements.lock ./
RUN --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && /opt/newsmon/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY storage ./storage
COPY notifiers ./notifiers
# No build tools at run time: setuptools and pip leave the venv once newsmon is in.
# The lock already holds the postgres extra (psycopg), hence --no-deps.
RUN /opt/newsmon/bin/pip install --no-deps --no-build-isolation . \
 && /opt/newsmon/bin/pip uninstall -y setuptools wheel \
 && /opt/newsmon/bin/pip check \
 && /opt/newsmon/bin/pip uninstall -y pip

# --- runtime: Debian's python3, the venv, a non-root user -------------------
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="newsmon" \
      org.opencontainers.image.description="News monitoring and alerting daemon" \
      org.opencontainers.image.licenses="MIT"
# tzdata: settings.timezone and digest schedules name IANA zones.
# ca-certificates: feeds and channels over HTTPS.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 newsmon \
 && useradd --system --uid 10001 --gid newsmon --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin newsmon \
 && mkdir -p /data /config \
 && chown newsmon:newsmon /data \
 && chmod 0750 /data
COPY --from=build /opt/newsmon /opt/newsmon
# NEWSMON_HTTP_HOST: /healthz, /metrics and the read-only dashboard must be
# reachable from outside the container (the daemon's own default is 127.0.0.1);
# set NEWSMON_UI_TOKEN when others can reach the port. NEWSMON_HTTP_PORT, when
# set, changes the port for the daemon and the HEALTHCHECK alike.
ENV PATH=/opt/newsmon/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEWSMON_DATABASE_URL=sqlite:////data/newsmon.db \
    NEWSMON_CONFIG=/config/sources.yaml \
    NEWSMON_HTTP_HOST=0.0.0.0
WORKDIR /data
VOLUME /data
EXPOSE 8080
# Numeric, so that an orchestrator can verify "not root" (runAsNonRoot).
USER 10001:10001
# Python, not curl: one package less in the image. Any error (connection
# refused, HTTP 503 from a stuck scheduler, timeout) exits 1: unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/bin/python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NEWSMON_HTTP_PORT', '8080'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["newsmon"]
CMD ["run"]
