"""Every error a drydock client raises, and how the wire's become them.

The manager raises the exceptions of ``drydockd.common.exception``. Across
oslo.messaging they arrive as ``RemoteError`` (whose ``exc_type`` is the
class name) or, for a caller whose transport allows that module, as
re-created ``drydockd`` classes; in the embedded default they are raised
in-process. :func:`translate` turns each of these into the class of the
same name below, so a caller catches ``drydock_client.exceptions.X``
whatever the transport and without drydock's server installed.
``exc.message`` (and ``exc.args[0]``) is always one line.
"""


class DrydockError(Exception):
    """Base of every drydock client error."""

    def __init__(self, message):
        super().__init__(message)

    @property
    def message(self):
        return self.args[0]


class InvalidInput(DrydockError):
    """A bad argument, filter, status or state (e.g. stopping an ended
    task)."""


class TaskNotFound(DrydockError):
    """No task has that id or uuid."""


class NodeNotFound(DrydockError):
    """No node has that id or name."""


class NodeLocked(DrydockError):
    """A selected node is held by another running task."""


class UnsupportedAction(DrydockError):
    """create_task with an action drydock does not know."""


class DesignError(DrydockError):
    """The design reference cannot be loaded, or the design is invalid."""


class GraphCycle(DrydockError):
    """The deployment graph has a cycle."""


class GraphInvalid(InvalidInput):
    """The deployment graph has problems other than (or besides) cycles."""


class InternalError(DrydockError):
    """Something the manager did not expect (a bug, a database outage); the
    message names a reference under which the manager logged the details.
    """


class UnsupportedVersion(DrydockError):
    """The call needs a newer RPC API version than the version cap allows
    (nothing was sent)."""


class NoAnswer(DrydockError):
    """The manager did not answer in time (is it running, and is the
    transport URL right?)."""


class BrokerUnreachable(DrydockError):
    """No broker of the transport URL accepted a connection, or a request
    could not be delivered."""


class WaitTimeout(DrydockError):
    """A task did not end within the time a caller allowed."""


# The manager's errors, by the name they carry on the wire.
_BY_NAME = {cls.__name__: cls for cls in (
    InvalidInput, TaskNotFound, NodeNotFound, NodeLocked, UnsupportedAction,
    DesignError, GraphCycle, GraphInvalid, InternalError)}
SERVER_ERRORS = tuple(_BY_NAME)


def _first_line(text):
    text = str(text).strip()
    return text.splitlines()[0] if text else ''


def translate(exc, timeout=None):
    """The client error for ``exc`` raised by an RPC call, or None when
    ``exc`` is not an error of the API (a bug: let it propagate)."""
    if isinstance(exc, DrydockError):
        return exc
    module = type(exc).__module__
    if module.startswith('drydockd.common.exception'):
        # Raised in-process (embedded default), or re-created remotely by
        # a transport that allows drydockd's exception module.
        name = type(exc).__name__.removesuffix('_Remote')
        return _BY_NAME.get(name, DrydockError)(_first_line(exc.args[0]))
    if module.startswith('oslo_messaging'):
        return _messaging_error(exc, timeout)
    return None


def _messaging_error(exc, timeout):
    import oslo_messaging as messaging
    if isinstance(exc, messaging.RemoteError):
        # Every error the manager sends is one of drydock's, written for
        # operators (anything else became InternalError there).
        cls = _BY_NAME.get(exc.exc_type, DrydockError)
        return cls(_first_line(exc.value))
    if isinstance(exc, messaging.MessagingTimeout):
        return NoAnswer('No answer from the drydock manager within %ss (is '
                        'it running, and is the transport URL right?)'
                        % timeout)
    if isinstance(exc, messaging.RPCVersionCapError):
        return UnsupportedVersion(_first_line(exc))
    if isinstance(exc, (messaging.MessageDeliveryFailure,
                        messaging.ClientSendError)):
        return BrokerUnreachable('Could not reach drydock: %s'
                                 % _first_line(exc))
    return None
