# logibot: one process, one SQLite file in /data, health on :8080.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/logibot.sqlite3 \
    HTTP_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY integrations ./integrations
COPY storage ./storage
COPY sandbox ./sandbox
RUN pip install --no-compile . \
    && useradd --create-home --uid 10001 logibot \
    && mkdir -p /data && chown logibot:logibot /data

USER logibot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"HTTP_PORT\", \"8080\")}/healthz', timeout=4)"

STOPSIGNAL SIGTERM
ENTRYPOINT ["logibot"]
CMD ["run"]
