"""How a failed RPC call reaches its caller: typed, one line, no stack.

oslo.messaging sends a failure back as its class, its message and its
formatted traceback, and a caller that re-raises a builtin (``TypeError``,
``ValueError``) gets that traceback glued into the message. So every
endpoint method goes through :func:`api_method` (and the RPC server,
drydockd.api.rpc, sends drydock's exceptions without any traceback):

- a wrong call (an unknown or missing argument) is ``InvalidInput``;
- a ``DrydockException`` (``InvalidInput``, ``TaskNotFound``, ...) goes
  back as itself, without the server's stack;
- anything else is a bug or an outage. Its traceback is logged here, on
  the manager, under a short reference, and the caller gets
  ``InternalError`` naming the method and the reference, never the
  original text, which can hold SQL.
"""

import functools
import inspect
import logging
import uuid

from drydockd.common import exception

LOG = logging.getLogger(__name__)


def _stackless(exc):
    """``exc`` without its traceback or the exception it interrupted."""
    exc.__cause__ = exc.__context__ = None
    exc.__suppress_context__ = True
    return exc.with_traceback(None)


def api_method(func):
    """Wrap one endpoint method (``func(self, context, **kwargs)``)."""
    signature = inspect.signature(func)
    name = func.__name__

    @functools.wraps(func)
    def wrapper(self, context, **kwargs):
        try:
            signature.bind(self, context, **kwargs)
        except TypeError as exc:
            raise _stackless(exception.InvalidInput(
                reason='%s: %s' % (name, exc))) from None
        try:
            return func(self, context, **kwargs)
        except exception.DrydockException as exc:
            LOG.info('RPC %s refused: %s', name, exc.message)
            raise _stackless(exc) from None
        except Exception:  # noqa: BLE001 - the caller gets one line
            ref = uuid.uuid4().hex[:12]
            LOG.exception('RPC %s failed (reference %s)', name, ref)
            raise _stackless(exception.InternalError(method=name,
                                                     ref=ref)) from None
    return wrapper
