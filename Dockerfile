# The aggregator daemon. Build: docker build -t aggregator .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY aggregator ./aggregator
COPY config ./config
COPY seeds ./seeds
RUN pip install . && useradd --system --home /app aggregator && mkdir -p /app/data \
    && chown aggregator /app/data
USER aggregator
EXPOSE 8080
# The daemon refuses an old schema; the compose file runs `aggregator db upgrade` first.
CMD ["aggregator", "run"]
