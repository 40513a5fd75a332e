# dipkg as a container: `docker compose up` (compose.yaml) serves it behind nginx.
# Three stages: YASGUI from the npm registry, the wheel, a slim runtime as a non-root
# user with the graph built into a volume on first start (dipkg serve --build-if-missing).

FROM node:20-bookworm-slim AS ui
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && mkdir -p vendor/yasgui \
 && cp node_modules/@zazuko/yasgui/build/yasgui.min.js node_modules/@zazuko/yasgui/build/yasgui.min.css vendor/yasgui/

FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY dipkg dipkg
COPY kg kg
COPY sparql_api sparql_api
COPY build build
COPY ontology ontology
COPY --from=ui /src/vendor/yasgui sparql_api/static/vendor/yasgui
RUN pip install --no-cache-dir "hatchling>=1.24" \
 && pip wheel --no-deps --no-build-isolation --no-cache-dir -w /wheels .

FROM python:3.11-slim-bookworm
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin dipkg \
 && mkdir -p /data && chown dipkg /data
ENV DIPKG_DATA_DIR=/data \
    DIPKG_HOST=0.0.0.0 \
    DIPKG_PORT=8000 \
    PYTHONUNBUFFERED=1
USER dipkg
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('DIPKG_PORT', '8000'), timeout=4)"
# first start: build the graph into the empty volume; then serve it (and follow
# later builds: `docker compose exec dipkg dipkg build` publishes without a restart)
ENTRYPOINT ["dipkg", "serve", "--build-if-missing"]
