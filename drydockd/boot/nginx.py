"""An nginx front for the boot service, for sites with many nodes or
large images.

nginx serves the kernel, initramfs and images itself (``sendfile``; in
the benchmark about twice waitress's rate with 20 clients) and passes
everything else (iPXE scripts, ``.sha256`` files, the agent endpoint) to
drydock's waitress service. Nodes are given nginx's port
(``[boot] public_port``). Headers, the agent's token among them, are
passed through unchanged; nginx's access log records request lines only,
never headers, so the token is not logged there either.
"""

TEMPLATE = '''# Written by drydock-manage boot nginx-config; do not edit.
server {{
    listen {listen};
    access_log {access_log};
    sendfile on;
    tcp_nopush on;
    # Digests and everything but the files: drydock's boot service.
    location ~ \\.sha256$ {{
        proxy_pass http://{upstream};
    }}
    location /files/ {{
        alias {files_dir}/;
    }}
    location /images/ {{
        alias {images_dir}/;
    }}
    location / {{
        proxy_pass http://{upstream};
        proxy_http_version 1.1;
        client_max_body_size 64k;
    }}
}}
'''


def config_text(listen, upstream, files_dir, images_dir,
                access_log='/var/log/nginx/drydock-boot.log'):
    """An nginx ``server`` block.

    :param listen: ``address:port`` nodes reach (``boot.server`` and
        ``[boot] public_port``).
    :param upstream: ``address:port`` of drydock's own HTTP service.
    """
    return TEMPLATE.format(listen=listen, upstream=upstream,
                           files_dir=files_dir.rstrip('/'),
                           images_dir=images_dir.rstrip('/'),
                           access_log=access_log)
