"""The nginx front drydock-manage boot nginx-config writes."""

from drydockd.boot import nginx


def test_files_by_nginx_the_rest_to_drydock():
    text = nginx.config_text('10.77.0.1:80', '127.0.0.1:8080',
                             '/var/lib/drydock/ramdisk/',
                             '/var/lib/drydock/images')
    lines = [line.strip() for line in text.splitlines()]
    assert 'listen 10.77.0.1:80;' in lines
    assert 'alias /var/lib/drydock/ramdisk/;' in lines
    assert 'alias /var/lib/drydock/images/;' in lines
    assert 'sendfile on;' in lines
    # Scripts, digests and the agent endpoint are drydock's.
    assert lines.count('proxy_pass http://127.0.0.1:8080;') == 2
    assert 'location ~ \\.sha256$ {' in lines
    assert text.index('\\.sha256') < text.index('location /images/')
