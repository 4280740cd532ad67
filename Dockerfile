# onionscope: the API/web UI (`onionscope serve`) and the crawler (`onionscope crawl`).
# Used by docker-compose.yml; Elasticsearch and tor run in their own containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/onionscope
# Dependencies first, pinned, so code changes do not reinstall them.
COPY requirements.lock pyproject.toml ./
RUN python -m pip install -r requirements.lock

COPY onionscope ./onionscope
COPY crawler ./crawler
COPY pipelines ./pipelines
COPY search ./search
COPY config ./config
COPY scrapy.cfg README.md ./
# Editable, so the code finds config/ next to it (settings resolve paths from the project root).
RUN python -m pip install --no-deps -e . \
    && useradd --system --home-dir /srv/onionscope --shell /usr/sbin/nologin onionscope \
    && mkdir -p /srv/onionscope/var \
    && chown onionscope:onionscope /srv/onionscope/var

USER onionscope
EXPOSE 8088
CMD ["onionscope", "serve"]
