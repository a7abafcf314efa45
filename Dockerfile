FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY syndicator ./syndicator
COPY channels ./channels
COPY workers ./workers
COPY templates ./templates
RUN pip install --no-cache-dir .
USER nobody
CMD ["syndicator", "run"]
