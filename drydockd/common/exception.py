"""Every drydock exception, in one module the client can import.

Exceptions raised by RPC endpoints are re-created on the caller's side by
oslo.messaging when this module is in ``allowed_remote_exmods``; the
keyword arguments travel with them, so the message is rebuilt exactly and
``exc.args[0]`` is always the one-line message without a remote traceback.
"""


class DrydockException(Exception):
    """Base class: ``_msg_fmt`` is filled from the keyword arguments."""

    _msg_fmt = 'An unknown error occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self._msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self._msg_fmt
        super().__init__(message)

    @property
    def message(self):
        return self.args[0]


class InvalidInput(DrydockException):
    _msg_fmt = 'Invalid input: %(reason)s'
    code = 400


class TaskNotFound(DrydockException):
    _msg_fmt = 'Task %(task)s not found'
    code = 404


class NodeNotFound(DrydockException):
    _msg_fmt = 'Node %(node)s not found'
    code = 404


class NodeLocked(DrydockException):
    _msg_fmt = 'Nodes %(nodes)s are held by task %(task)s'
    code = 409


class UnsupportedAction(DrydockException):
    _msg_fmt = 'Action %(action)s is not supported; supported: %(supported)s'
    code = 400


class DesignError(DrydockException):
    """A site design could not be loaded or is invalid."""

    _msg_fmt = 'Design %(ref)s is invalid: %(reason)s'
    code = 400


class GraphCycle(DrydockException):
    _msg_fmt = 'Deployment graph has a cycle: %(path)s'
    code = 400


class MessageInvalid(DrydockException):
    """A work-plane message failed to decode or validate."""

    _msg_fmt = 'Invalid message: %(reason)s'


class WorkPlaneUnavailable(DrydockException):
    """A work-plane publish was not confirmed within its time limit."""

    _msg_fmt = 'Work plane unavailable: %(reason)s'


class DatabaseUnavailable(DrydockException):
    _msg_fmt = 'Database unavailable: %(reason)s'


class OOBError(DrydockException):
    """Base for out-of-band (BMC) failures; always names the node."""

    _msg_fmt = 'BMC of node %(node)s failed: %(reason)s'


class OOBAuthFailed(OOBError):
    _msg_fmt = 'BMC of node %(node)s refused the credentials'


class OOBUnreachable(OOBError):
    _msg_fmt = 'BMC of node %(node)s did not answer after %(tries)s tries'


class OOBTimeout(OOBError):
    _msg_fmt = ('BMC of node %(node)s: %(operation)s timed out after '
                '%(timeout)ss')


class OOBSystemNotFound(OOBError):
    _msg_fmt = 'BMC of node %(node)s has no system %(system)s'


class OOBCertificateRejected(OOBError):
    _msg_fmt = ('BMC of node %(node)s at %(address)s: its TLS certificate '
                'did not verify (%(reason)s)')


class GraphInvalid(InvalidInput):
    """A deployment graph failed its checks; the message names every
    problem (unknown references, empty roles, cycles, bad parameters)."""

    _msg_fmt = 'Deployment graph rejected: %(problems)s'


class DatabaseNotCurrent(DrydockException):
    _msg_fmt = ('Database is at revision %(current)s, code expects '
                '%(head)s: run "drydock-manage db upgrade"')


class WorkQueueMismatch(DrydockException):
    """A work queue exists with other declare arguments than this config
    asks for (classic against quorum, another delivery limit)."""
    _msg_fmt = '%(reason)s'


class InternalError(DrydockException):
    """Anything an RPC method did not expect: a bug or an outage.

    The caller gets the method and a reference, never the original text
    (it can hold SQL); the manager logs the traceback under the same
    reference.
    """

    _msg_fmt = ('Internal error in %(method)s (reference %(ref)s); the '
                'manager log has the details')


class StatePathError(DrydockException):
    """A directory or file of the embedded default cannot be used."""

    _msg_fmt = ('Cannot use %(path)s for drydock\'s state: %(reason)s (set '
                '[DEFAULT] state_path, or the SQLite URL that names this '
                'path, to a directory this user can write)')
