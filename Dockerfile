FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_ENV=production
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY config config
COPY common common
COPY users users
COPY cities cities
COPY employers employers
COPY institutions institutions
COPY events events
COPY persons persons
COPY cards cards
COPY accounts accounts
COPY uploads uploads
COPY settlement settlement
COPY claims claims
COPY inquiry inquiry
COPY provisioning provisioning
COPY access access
COPY webhooks webhooks
COPY jobs jobs
COPY fsi fsi
COPY api api
COPY sandbox sandbox
COPY templates templates
COPY locale locale
COPY manage.py ./
# GNU gettext is installed only to compile the Chinese catalogue (.po to .mo), then removed.
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
 && pip install --no-cache-dir -c constraints.txt . \
 && export DJANGO_SECRET_KEY=build-only-collectstatic-key-not-used-at-run-time-0123456789 \
 && python manage.py compilemessages --locale zh_Hans \
 && python manage.py collectstatic --no-input \
 && apt-get purge -y --auto-remove gettext && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 yibao
USER yibao
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
