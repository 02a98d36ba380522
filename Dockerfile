# Slim, non-root image of the gateway. The same image runs `cpgw serve --no-worker` and `cpgw worker`.
# Dependencies come only from requirements/main.lock, each file checked against its sha256; the lock
# also pins setuptools and wheel, which build the gateway itself (--no-build-isolation, --no-deps).
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/cpgw
COPY requirements/main.lock ./requirements/
RUN /opt/cpgw/bin/pip install --no-cache-dir --require-hashes -r requirements/main.lock
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY menus ./menus
COPY routing ./routing
RUN /opt/cpgw/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 CPGW_DATA_DIR=/data PATH=/opt/cpgw/bin:$PATH
COPY --from=build /opt/cpgw /opt/cpgw
# Noto fonts for `cpgw posters` and the fonts the console serves (Devanagari, Bengali, Ol Chiki and the other Indian scripts).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-noto-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /data --create-home cpgw
USER cpgw
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["cpgw", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
