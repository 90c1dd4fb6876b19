"""A TCP proxy in front of a real service that a test can freeze or cut.

Frozen, it keeps every connection open and moves no byte either way: to
the client the service looks hung (accepting, never answering), which is
how a broker stuck on a full disk or a dead network path behaves.
``thaw()`` lets the held bytes through again. Cut (``sever()``), it drops
every connection and refuses new ones, as a stopped broker does, until
``restore()``. Either shows one client an outage that stopping the shared
RabbitMQ would show everybody.
"""

import select
import socket
import threading


class FreezableProxy:

    def __init__(self, target_port, target_host='127.0.0.1'):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        self._running = threading.Event()
        self._running.set()
        self._closed = False
        self._severed = False
        self._sockets = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True,
                         name='proxy-accept').start()

    def freeze(self):
        self._running.clear()

    def thaw(self):
        self._running.set()

    def sever(self):
        """Drop every connection; refuse new ones until ``restore``."""
        self._severed = True
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def restore(self):
        self._severed = False

    def close(self):
        self._closed = True
        self._running.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._severed:
                client.close()      # as good as "connection refused"
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server),
                             daemon=True, name='proxy-pump').start()

    def _pump(self, client, server):
        peer = {client: server, server: client}
        try:
            while not self._closed:
                self._running.wait()
                readable, _, _ = select.select([client, server], [], [], 0.1)
                for sock in readable:
                    if not self._running.is_set():
                        break
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except (OSError, ValueError):
            # ValueError: select() on a socket another thread closed (its
            # descriptor is -1 by then).
            return
        finally:
            client.close()
            server.close()
