"""An nginx front for the boot service, for sites with many nodes or
large images.

nginx serves the kernel, initramfs and images itself (``sendfile``; in
the benchmark about twice waitress's rate with 20 clients) and passes
everything else (iPXE scripts, ``.sha256`` files, the agent endpoint) to
drydock's waitress service. Nodes are given nginx's port
(``[boot] public_port``). Headers, the agent's token among them, are
passed through unchanged; nginx's access log records request lines only,
never headers, so the token is not logged there either.

Two forms: a ``server`` block to include in the site's nginx, which
carries the file-serving settings itself (``sendfile``, ``tcp_nopush``,
open-file cache) so that they hold whatever the ``http`` block says; or
a whole ``nginx.conf`` for an nginx of its own, with one worker per core
(``worker_processes auto``), as the benchmark's baseline nginx runs.
"""

SERVER = '''server {{
    listen {listen};
    access_log {access_log};
    # Digests and everything but the files: drydock's boot service.
    location ~ \\.sha256$ {{
        proxy_pass http://{upstream};
    }}
    # Large files straight from the page cache to the socket, in full
    # packets; the open-file cache spares a lookup per fetch.
    location /files/ {{
        alias {files_dir}/;
        sendfile on;
        tcp_nopush on;
        open_file_cache max=64 inactive=60s;
    }}
    location /images/ {{
        alias {images_dir}/;
        sendfile on;
        tcp_nopush on;
        open_file_cache max=64 inactive=60s;
    }}
    location / {{
        proxy_pass http://{upstream};
        proxy_http_version 1.1;
        client_max_body_size 64k;
    }}
}}
'''

WHOLE = '''# Written by drydock-manage boot nginx-config --whole; do not edit.
{user}worker_processes auto;
pid {pid};
error_log {error_log};
events {{
    worker_connections 1024;
}}
http {{
    default_type application/octet-stream;
    keepalive_timeout 65;
{temp}{server}}}
'''

_TEMPS = ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi')


def _server(listen, upstream, files_dir, images_dir, access_log):
    return SERVER.format(listen=listen, upstream=upstream,
                         files_dir=files_dir.rstrip('/'),
                         images_dir=images_dir.rstrip('/'),
                         access_log=access_log)


def config_text(listen, upstream, files_dir, images_dir,
                access_log='/var/log/nginx/drydock-boot.log'):
    """An nginx ``server`` block.

    :param listen: ``address:port`` nodes reach (``boot.server`` and
        ``[boot] public_port``).
    :param upstream: ``address:port`` of drydock's own HTTP service.
    """
    return ('# Written by drydock-manage boot nginx-config; do not edit.\n'
            + _server(listen, upstream, files_dir, images_dir, access_log))


def whole_config_text(listen, upstream, files_dir, images_dir,
                      access_log='/var/log/nginx/drydock-boot.log',
                      pid='/run/nginx-drydock-boot.pid',
                      error_log='/var/log/nginx/drydock-boot-error.log',
                      temp_dir=None, user=None):
    """A whole ``nginx.conf`` around :func:`config_text`'s server.

    :param temp_dir: where nginx keeps its temporary files (default:
        nginx's own).
    :param user: the workers' user (default: nginx's own).
    """
    server = _server(listen, upstream, files_dir, images_dir, access_log)
    temp = ''.join('    %s_temp_path %s/%s;\n' % (name, temp_dir, name)
                   for name in _TEMPS) if temp_dir else ''
    return WHOLE.format(user='user %s;\n' % user if user else '', pid=pid,
                        error_log=error_log, temp=temp,
                        server=''.join('    ' + line + '\n' if line else '\n'
                                       for line in server.splitlines()))
