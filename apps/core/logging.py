import logging
import re

# Webhook intake URLs carry the integration's token; keep it out of log files.
_SECRET_PATHS = re.compile(r"(/delivery/hooks/)[^/\s\"']+")


class RedactSecretPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PATHS.sub(r"\1<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
