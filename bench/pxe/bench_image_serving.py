"""Image serving: 20 concurrent fetches of one image, drydock's boot
HTTP service (waitress) against nginx serving the same file, same run.

    .venv/bin/python bench/pxe/bench_image_serving.py [--size-mb 1024]
        [--clients 20]

Each client is a ``curl`` process writing to /dev/null; the figure is
the aggregate throughput (bytes delivered / wall time until the last
client finished), and the ratio drydock / nginx. Both servers listen on
loopback only and are stopped at the end.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import waitress.server

from drydockd.boot import app as app_mod
from drydockd.boot import files
from drydockd.boot import nginx as nginx_conf

NGINX_CONF = '''daemon off;
user root;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location /images/ {{ alias {images}/; }}
    }}
    {front}
}}
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('port %d never opened' % port)


def fetch_all(url, clients, size):
    started = time.monotonic()
    procs = [subprocess.Popen(
        ['curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', url],
        stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    got = [int(p.communicate()[0] or 0) for p in procs]
    elapsed = time.monotonic() - started
    assert all(g == size for g in got), 'short transfers: %s' % got
    return elapsed, sum(got) / elapsed / 1e6


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--size-mb', type=int, default=1024)
    parser.add_argument('--clients', type=int, default=20)
    parser.add_argument('--threads', type=int, default=16,
                        help='waitress threads ([boot] http_threads)')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir='/var/tmp') as tmp:
        images = os.path.join(tmp, 'images')
        os.mkdir(images)
        path = os.path.join(images, 'big.img')
        with open(path, 'wb') as out:
            block = os.urandom(1 << 20)
            for _ in range(args.size_mb):
                out.write(block)
        size = args.size_mb << 20
        store = files.FileStore(images)
        app = app_mod.BootApp('http://127.0.0.1', None, None, store, store,
                              '')
        port = free_port()
        server = waitress.server.create_server(
            app, host='127.0.0.1', port=port, threads=args.threads)
        threading.Thread(target=server.run, daemon=True).start()
        wait_port(port)
        nport = free_port()
        fport = free_port()
        # drydock's production answer: nginx in front, from the config
        # drydock-manage boot nginx-config writes.
        front = nginx_conf.config_text(
            '127.0.0.1:%d' % fport, '127.0.0.1:%d' % port, images, images,
            access_log='off')
        conf = os.path.join(tmp, 'nginx.conf')
        with open(conf, 'w') as out:
            out.write(NGINX_CONF.format(tmp=tmp, port=nport, images=images,
                                        front=front))
        nginx = subprocess.Popen(['nginx', '-c', conf, '-p', tmp])
        try:
            wait_port(nport)
            rows = []
            wait_port(fport)
            for name, url in (
                    ('nginx', 'http://127.0.0.1:%d/images/big.img' % nport),
                    ('drydock (waitress)',
                     'http://127.0.0.1:%d/images/big.img' % port),
                    ('nginx front (drydock config)',
                     'http://127.0.0.1:%d/images/big.img' % fport)):
                elapsed, rate = fetch_all(url, args.clients, size)
                rows.append((name, elapsed, rate))
        finally:
            nginx.terminate()
            nginx.wait(10)
            server.close()
    print('%d concurrent fetches of a %d MiB image over loopback'
          % (args.clients, args.size_mb))
    print('%-30s %10s %12s %8s' % ('server', 'wall s', 'MB/s total',
                                   'x nginx'))
    for name, elapsed, rate in rows:
        print('%-30s %10.1f %12.0f %8.2f' % (name, elapsed, rate,
                                             rate / rows[0][2]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
