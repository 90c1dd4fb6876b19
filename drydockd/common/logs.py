"""Logging setup with a last line of defence against secrets."""

import logging
import re
import sys

from oslo_utils import strutils

from drydockd.common import redact

FORMAT = '%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s'


# A URL in a log line (its credentials are masked by common.redact).
URL = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://[^\s\'"<>]+')


class MaskSecrets(logging.Filter):
    """Mask ``password=...``-style values and URL credentials
    (``user:pass@``, ``?token=``) in every record.

    Code never logs credentials on purpose; this catches what a library
    or an exception text might carry.
    """

    def filter(self, record):
        message = record.getMessage()
        masked = strutils.mask_password(URL.sub(
            lambda m: redact.mask_ref(m.group(0)), message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup(debug=False, stream=None):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ('amqp', 'kombu', 'oslo_messaging', 'oslo_service',
                  'sqlalchemy', 'alembic', 'pyghmi', 'stevedore'):
        logging.getLogger(noisy).setLevel(
            logging.INFO if debug else logging.WARNING)
