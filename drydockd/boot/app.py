"""The boot service's HTTP: one WSGI application.

==========================  ==============================================
``GET /boot.ipxe``          the script every iPXE client chains first
``GET /boot/<mac>.ipxe``    the node's script (ramdisk or local disk)
``GET|HEAD /files/<name>``  the deploy kernel and initramfs (Range, .sha256)
``GET|HEAD /images/<name>`` OS images (Range, .sha256)
``POST /v1/agent/<n>/<s>``  the node agent's calls (agent_api)
==========================  ==============================================

Requests are logged by path and status; a path never holds a token (it
rides in a header), and no script body is logged, since a node's holds
its token.
"""

import logging
import re

from drydockd.boot import agent_api
from drydockd.boot import ipxe
from drydockd.common import exception
from drydockd.common import timeutils

LOG = logging.getLogger(__name__)

_NODE_SCRIPT = re.compile(r'^/boot/([0-9A-Fa-f:]{17})\.ipxe$')
_AGENT = re.compile(r'^/v1/agent/([0-9]{1,18})/([a-z]{1,32})$')
TEXT = [('Content-Type', 'text/plain; charset=utf-8')]


class BootApp:
    """WSGI callable.

    :param base: the URL nodes reach this service at
        (``http://10.0.0.1:8080``).
    :param registry: :class:`provisions.Registry`.
    :param agent: :class:`agent_api.AgentAPI`.
    :param files: :class:`files.FileStore` of the ramdisk.
    :param images: :class:`files.FileStore` of the images.
    :param append: kernel command line of the deploy ramdisk (console).
    """

    def __init__(self, base, registry, agent, files, images, append):
        self.base = base
        self.registry = registry
        self.agent = agent
        self.files = files
        self.images = images
        self.append = append

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        method = environ['REQUEST_METHOD']
        try:
            answer = self._route(environ, start_response, path, method)
        except agent_api.Refused as exc:
            answer = _text(start_response, exc.status, exc.reason)
        except exception.WorkPlaneUnavailable:
            # The agent tries again; the call was not taken.
            answer = _text(start_response, '503 Service Unavailable',
                           'work plane unavailable')
        LOG.debug('%s %s', method, path)
        return answer

    def _route(self, environ, start_response, path, method):
        agent = _AGENT.match(path)
        if agent:
            if method != 'POST':
                return _text(start_response, '405 Method Not Allowed',
                             'POST only')
            return self._agent(environ, start_response, *agent.groups())
        if method not in ('GET', 'HEAD'):
            return _text(start_response, '405 Method Not Allowed',
                         'GET or HEAD only')
        if path == '/boot.ipxe':
            return _text(start_response, '200 OK', ipxe.first(self.base))
        script = _NODE_SCRIPT.match(path)
        if script:
            return _text(start_response, '200 OK',
                         self.node_script(script.group(1)))
        for prefix, store in (('/files/', self.files),
                              ('/images/', self.images)):
            if path.startswith(prefix):
                return store.serve(environ, start_response,
                                   path[len(prefix):])
        return _text(start_response, '404 Not Found', 'not found')

    def node_script(self, mac):
        """The iPXE script of the node with ``mac``.

        While the node has agent work, each fetch draws a new token (the
        one handed out before is void) and marks the boot's start."""
        known = self.registry.node_of_mac(mac)
        if known is None:
            return ipxe.local('an unknown machine')
        uid, name = known
        prov = self.registry.get(uid)
        if prov is None or not prov.netboots:
            return ipxe.local('node %s' % name)
        token = self.registry.tokens.issue(uid)
        prov.phase = 'booting'
        prov.booted_at = timeutils.utcnow()
        prov.step_started['boot'] = prov.booted_at
        LOG.info('Node %s boots the deploy ramdisk (%s)', name, prov.action)
        return ipxe.deploy(self.base, prov, token, self.append)

    def _agent(self, environ, start_response, node, step):
        try:
            length = int(environ.get('CONTENT_LENGTH') or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= agent_api.MAX_BODY:
            return _text(start_response, '413 Content Too Large',
                         'body too large')
        body = environ['wsgi.input'].read(length).decode('utf-8', 'replace')
        token = environ.get('HTTP_X_DRYDOCK_TOKEN', '')
        answer = self.agent.call(node, step, token, body)
        return _text(start_response, '200 OK', ''.join(
            '%s=%s\n' % (k, v) for k, v in answer.items()))


def _text(start_response, status, text):
    body = text.encode() if text.endswith('\n') else (text + '\n').encode()
    start_response(status, TEXT + [('Content-Length', str(len(body)))])
    return [body]
