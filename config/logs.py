"""Log hygiene: a tracking token is a bearer capability, so no log line may carry one.

`RedactTokens` (installed from settings.LOGGING on the console handler and on the loggers that name request
paths) rewrites `/t/<token>/`, `/api/track/<token>/...` and `/ws/track/<token>/` to `<redacted>`, and the
coordinates of `/tiles/<z>/<x>/<y>.png` (where someone is looking) too.
daphne writes its access log straight to stdout with its own `AccessLogGenerator`; `AccessLog` sends those
lines through the `daphne.access` logger instead, and `install_daphne_access_log()` (called from config/asgi.py,
which daphne's CLI imports before it builds the access log) makes daphne use it, with no extra flag.

`JsonLines` (LOG_FORMAT=json) writes one JSON object a line, for a log shipper; the same filters run before it.
`RequestId` puts the request's id (config/middleware.py `RequestIdMiddleware`: the proxy's X-Request-ID when it
is a sane token, else a new one) on every record logged while the request is handled, so its lines join up.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from daphne.access import AccessLogGenerator

_TOKEN_PATH = re.compile(r"(/(?:t|api/track|ws/track)/)[^/\s?#\"'<>]+")
_TILE_PATH = re.compile(r"(/tiles/)[0-9/]+(?:\.png)?")  # a tile's coordinates say where someone looks
_traceback_formatter = logging.Formatter()
NO_REQUEST = "-"
request_id_var: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def redact(text: str) -> str:
    return _TILE_PATH.sub(r"\1<redacted>", _TOKEN_PATH.sub(r"\1<redacted>", text))


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _traceback_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_PROBE = re.compile(r'(?:"|^HTTP )(?:GET|HEAD) /(?:healthz|readyz)(?:\?[^" ]*)?(?: HTTP/[0-9.]+)?"? (?:200|304) ')


def is_probe_line(line: str) -> bool:
    """A load balancer's passing probe (GET /healthz or /readyz answered 200): every few seconds from every balancer,
    noise in the access log. A failing probe (503) is kept."""
    return bool(_PROBE.search(line))


class QuietProbes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not is_probe_line(record.getMessage())


class RequestId(logging.Filter):
    """Every record gets `request_id`: the id of the request being handled, or "-" outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id, process, and the
    traceback when there is one. Only these fields: a record's other attributes are never copied out. The message
    and traceback are redacted here too, so the format is safe even on a handler that forgot the filter."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "process": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = redact(record.exc_text)
        if record.stack_info:
            line["stack"] = redact(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


class AccessLog(AccessLogGenerator):
    """daphne's NCSA-style lines, through the `daphne.access` logger (so LOGGING's filters apply); with
    `--access-log FILE` into that file, redacted here."""

    logger = logging.getLogger("daphne.access")

    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):
        line = '%s %s %s [%s] "%s" %s %s' % (  # noqa: UP031 - daphne's own format
            host, ident or "-", user or "-", date.strftime("%d/%b/%Y:%H:%M:%S"), request, status or "-", length or "-",
        )
        if is_probe_line(line):
            return
        if self.stream is sys.stdout:
            self.logger.info(line)
        else:
            self.stream.write(redact(line) + "\n")


def install_daphne_access_log() -> None:
    """When running under daphne's command line, make it build `AccessLog` rather than its own generator."""
    cli = sys.modules.get("daphne.cli")
    if cli is not None and getattr(cli, "AccessLogGenerator", None) is AccessLogGenerator:
        cli.AccessLogGenerator = AccessLog  # type: ignore[attr-defined]
