import logging
import re

from gunicorn.glogging import Logger as GunicornBaseLogger

# Webhook intake URLs carry the integration's token; keep it out of log files.
_SECRET_PATHS = re.compile(r"(/delivery/hooks/)[^/\s\"']+")


class RedactSecretPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PATHS.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class GunicornLogger(GunicornBaseLogger):
    """Gunicorn's access and error logs with the same redaction as Django's (named in
    gunicorn.conf.py, which gunicorn reads from the directory it starts in)."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(RedactSecretPaths())
