# Slim, non-root image of the gateway. The same image runs `cpgw serve --no-worker` and `cpgw worker`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY menus ./menus
COPY routing ./routing
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 CPGW_DATA_DIR=/data
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /data --create-home cpgw
USER cpgw
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["cpgw", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
