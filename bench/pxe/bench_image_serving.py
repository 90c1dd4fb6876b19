"""Image serving: 20 concurrent fetches of one image, drydock's boot
HTTP service (waitress) and drydock's nginx config against a plain
nginx serving the same file, same run.

    .venv/bin/python bench/pxe/bench_image_serving.py [--size-mb 1024]
        [--clients 20] [--rounds 3]

Each client is a ``curl`` process writing to /dev/null; the figure is
the aggregate throughput (bytes delivered / wall time until the last
client finished), and the ratio to nginx. The two nginx servers are
separate processes, each with its own whole config: the baseline's, and
the one ``drydock-manage boot nginx-config --whole`` writes. On a
machine others load, one fetch round swings by a fifth or more (a
clone of the baseline measured 0.79 of it), so the nginx rounds
alternate in ABBA order (baseline, drydock, drydock, baseline, ...: each
goes first as often) and each server's figure is its median round;
waitress runs one round. The servers' own CPU time per GiB served (an
nginx's master and workers, waitress's process) is printed too: it
hardly depends on what else loads the machine, so it compares the
configurations where the rates cannot. All listen on
loopback only and are stopped at the end; the load average is printed
before and after.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import waitress.server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..'))
import benchlib  # noqa: E402
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


def server_cpu_s(proc):
    """CPU seconds of a server: an nginx master and its workers, or (for
    None) this process, where waitress runs."""
    if proc is None:
        return time.process_time()
    pids = [proc.pid]
    with open('/proc/%d/task/%d/children' % (proc.pid, proc.pid)) as f:
        pids += [int(p) for p in f.read().split()]
    return sum(benchlib.cpu_s(p) for p in pids)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--size-mb', type=int, default=1024)
    parser.add_argument('--clients', type=int, default=20)
    parser.add_argument('--threads', type=int, default=16,
                        help='waitress threads ([boot] http_threads)')
    parser.add_argument('--rounds', type=int, default=4,
                        help='fetch rounds of each nginx (median kept)')
    args = parser.parse_args(argv)
    print('load average before: %.2f %.2f %.2f' % os.getloadavg())
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
        base_conf = os.path.join(tmp, 'nginx.conf')
        with open(base_conf, 'w') as out:
            out.write(NGINX_CONF.format(tmp=tmp, port=nport, images=images))
        # drydock's production answer: an nginx of its own, from the
        # config drydock-manage boot nginx-config --whole writes.
        front_tmp = os.path.join(tmp, 'front')
        os.makedirs(front_tmp)
        front_conf = os.path.join(tmp, 'front.conf')
        with open(front_conf, 'w') as out:
            out.write(nginx_conf.whole_config_text(
                '127.0.0.1:%d' % fport, '127.0.0.1:%d' % port, images, images,
                access_log='off', pid=os.path.join(front_tmp, 'nginx.pid'),
                error_log=os.path.join(front_tmp, 'error.log'),
                temp_dir=front_tmp, user='root'))
        # In the foreground, so that these are the masters to stop.
        nginxes = [subprocess.Popen(['nginx', '-c', base_conf, '-p', tmp]),
                   subprocess.Popen(['nginx', '-c', front_conf, '-p', tmp,
                                     '-g', 'daemon off;'])]
        rates = {'nginx': [], 'front': [], 'waitress': []}
        owners = {'nginx': nginxes[0], 'front': nginxes[1], 'waitress': None}
        cpu = dict.fromkeys(rates, 0.0)
        try:
            wait_port(nport)
            wait_port(fport)
            urls = {'nginx': 'http://127.0.0.1:%d/images/big.img' % nport,
                    'front': 'http://127.0.0.1:%d/images/big.img' % fport,
                    'waitress': 'http://127.0.0.1:%d/images/big.img' % port}
            # ABBA: each nginx goes first as often as second.
            order = []
            for i in range(args.rounds):
                order += ['nginx', 'front'] if i % 2 == 0 else ['front',
                                                                 'nginx']
            order.insert(2, 'waitress')
            for name in order:
                used = server_cpu_s(owners[name])
                elapsed, rate = fetch_all(urls[name], args.clients, size)
                used = server_cpu_s(owners[name]) - used
                cpu[name] += used
                rates[name].append((rate, elapsed))
                print('  %-8s %6.1f s %6.0f MB/s %6.1f CPU s'
                      % (name, elapsed, rate, used))
        finally:
            for proc in nginxes:
                proc.terminate()
                proc.wait(10)
            server.close()
    names = {'nginx': 'nginx (baseline config, 2 workers)',
             'waitress': 'drydock (waitress)',
             'front': 'nginx, drydock config --whole'}
    rows = []
    gib = args.clients * args.size_mb / 1024
    for key in ('nginx', 'waitress', 'front'):
        rate, elapsed = statistics.median_low(rates[key])
        rows.append((names[key], elapsed, rate,
                     cpu[key] / (gib * len(rates[key]))))
    print('%d concurrent fetches of a %d MiB image over loopback'
          % (args.clients, args.size_mb))
    print('%-36s %10s %12s %8s %14s' % ('server', 'wall s', 'MB/s total',
                                        'x nginx', 'CPU s per GiB'))
    for name, elapsed, rate, per_gib in rows:
        print('%-36s %10.1f %12.0f %8.2f %14.3f' % (
            name, elapsed, rate, rate / rows[0][2], per_gib))
    print('load average after: %.2f %.2f %.2f' % os.getloadavg())
    return 0


if __name__ == '__main__':
    sys.exit(main())
