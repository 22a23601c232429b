# newsmon: a first working image (the operations work hardens it further).
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY storage ./storage
COPY notifiers ./notifiers
RUN python3 -m venv /opt/newsmon \
 && /opt/newsmon/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/newsmon/bin/pip install --no-cache-dir '.[postgres]'

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data newsmon \
 && mkdir -p /data /config && chown newsmon /data
COPY --from=build /opt/newsmon /opt/newsmon
ENV PATH=/opt/newsmon/bin:$PATH \
    NEWSMON_DATABASE_URL=sqlite:////data/newsmon.db \
    NEWSMON_CONFIG=/config/sources.yaml \
    PYTHONUNBUFFERED=1
USER newsmon
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["newsmon"]
CMD ["run"]
