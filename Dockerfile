# logibot: one process, one SQLite file in /data, health on :8080.
#
# Two stages. "build" turns the source into wheels (logibot's and every dependency's); the final
# image installs those wheels into /opt/logibot (compiled to bytecode there: the bot starts
# without compiling anything) and carries no source, no wheel, no build tool, no pip.
# Needs BuildKit (every current Docker; on an old client: DOCKER_BUILDKIT=1).
#
# BASE_IMAGE: any Debian-like image with Python 3.11+, venv and pip. Where no image registry is
# reachable, `make image-base` builds one from Debian's packages (README: Docker).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY integrations ./integrations
COPY storage ./storage
COPY sandbox ./sandbox
RUN python3 -m venv /tmp/pip && /tmp/pip/bin/pip wheel --wheel-dir /wheels .

FROM ${BASE_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/logibot/bin:$PATH \
    DATABASE_PATH=/data/logibot.sqlite3 \
    HTTP_PORT=8080
# tini as PID 1: signals reach the bot and zombies are reaped from the first instant.
RUN command -v tini >/dev/null || { \
        apt-get update && apt-get install -y --no-install-recommends tini \
        && rm -rf /var/lib/apt/lists/*; }
# The wheels are mounted from the build stage (on /mnt, which exists: no empty folder is left),
# never copied into a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/mnt \
    python3 -m venv /opt/logibot \
    && PIP_NO_CACHE_DIR=1 /opt/logibot/bin/pip install --no-index --find-links=/mnt logibot \
    && /opt/logibot/bin/pip uninstall --yes --quiet pip setuptools \
    && useradd --create-home --uid 10001 --user-group logibot \
    && mkdir -p /data && chown logibot:logibot /data

USER logibot
WORKDIR /home/logibot
VOLUME ["/data"]
EXPOSE 8080
# Follows HTTP_PORT (0: endpoints off, nothing to check). The start period is the bot's own
# STARTUP_GRACE_SECONDS: while Telegram does not answer at start, /healthz says "starting".
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["logibot", "healthcheck"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "logibot"]
CMD ["run"]
