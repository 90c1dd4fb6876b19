"""Files over HTTP with Range requests and a SHA-256 beside each.

Kernels, ramdisks and images are served from a directory: ``GET`` or
``HEAD`` of ``NAME`` gives the file (one byte range when the request has
a ``Range`` header: ``206`` with ``Content-Range``, or ``416`` when the
range is past the end), and ``NAME.sha256`` gives its digest as
``sha256sum`` prints it, computed once per (inode, size, mtime). Bodies go
out through the server's ``wsgi.file_wrapper``, so the server, not Python
code here, copies the bytes.
"""

import hashlib
import os
import re
import threading

CHUNK = 1 << 20
_RANGE = re.compile(r'^bytes=(\d*)-(\d*)$')
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$')


class RangeFile:
    """Iterate over ``length`` bytes of ``fileobj`` from ``offset``."""

    def __init__(self, fileobj, offset, length):
        self.fileobj = fileobj
        self.remaining = length
        fileobj.seek(offset)

    def __iter__(self):
        return self

    def __next__(self):
        if self.remaining <= 0:
            raise StopIteration
        block = self.fileobj.read(min(CHUNK, self.remaining))
        if not block:
            raise StopIteration
        self.remaining -= len(block)
        return block

    def close(self):
        self.fileobj.close()


def parse_range(header, size):
    """``(start, end)`` inclusive for one ``bytes=`` range, None for no
    (or an unsupported) range, or ``'unsatisfiable'``."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ('', ''):
        return None    # several ranges or another unit: the whole file
    first, last = match.groups()
    if first == '':
        length = int(last)
        if length == 0:
            return 'unsatisfiable'
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if last == '' else min(int(last), size - 1)
    if start >= size or start > end:
        return 'unsatisfiable'
    return start, end


class FileStore:
    """The files of one directory, by plain name (no path)."""

    def __init__(self, root):
        self.root = root
        self._sums = {}
        self._lock = threading.Lock()

    def path(self, name):
        """The file's path, or None if the name is not a plain file here."""
        if not _NAME.match(name or ''):
            return None
        path = os.path.join(self.root, name)
        return path if os.path.isfile(path) else None

    def sha256(self, name):
        """Hex SHA-256 of the file (cached while the file is unchanged)."""
        path = self.path(name)
        if path is None:
            return None
        st = os.stat(path)
        key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._sums:
                return self._sums[key]
        digest = hashlib.sha256()
        with open(path, 'rb') as src:
            for block in iter(lambda: src.read(CHUNK), b''):
                digest.update(block)
        with self._lock:
            self._sums[key] = digest.hexdigest()
        return self._sums[key]

    def serve(self, environ, start_response, name):
        """The WSGI answer for ``GET``/``HEAD`` of ``name``."""
        if name.endswith('.sha256'):
            digest = self.sha256(name[:-len('.sha256')])
            if digest is None:
                return _plain(start_response, '404 Not Found', 'no such file')
            return _plain(start_response, '200 OK', '%s  %s' % (
                digest, name[:-len('.sha256')]))
        path = self.path(name)
        if path is None:
            return _plain(start_response, '404 Not Found', 'no such file')
        size = os.path.getsize(path)
        wanted = parse_range(environ.get('HTTP_RANGE'), size)
        headers = [('Accept-Ranges', 'bytes'),
                   ('Content-Type', 'application/octet-stream')]
        if wanted == 'unsatisfiable':
            headers.append(('Content-Range', 'bytes */%d' % size))
            return _plain(start_response, '416 Range Not Satisfiable',
                          'range not satisfiable', headers)
        if wanted is None:
            status, start, length = '200 OK', 0, size
        else:
            start, end = wanted
            status, length = '206 Partial Content', end - start + 1
            headers.append(('Content-Range', 'bytes %d-%d/%d'
                            % (start, end, size)))
        headers.append(('Content-Length', str(length)))
        start_response(status, headers)
        if environ['REQUEST_METHOD'] == 'HEAD':
            return [b'']
        fileobj = open(path, 'rb')
        wrapper = environ.get('wsgi.file_wrapper')
        if wrapper is not None and start == 0 and length == size:
            return wrapper(fileobj, CHUNK)
        return RangeFile(fileobj, start, length)


def _plain(start_response, status, text, headers=()):
    body = (text + '\n').encode()
    start_response(status, list(headers) + [
        ('Content-Type', 'text/plain; charset=utf-8'),
        ('Content-Length', str(len(body)))])
    return [body]
