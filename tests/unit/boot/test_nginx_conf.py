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


def test_file_settings_ride_with_the_locations():
    """Included in a site's nginx whose http block says otherwise, the
    file locations still use sendfile and full packets."""
    text = nginx.config_text('10.77.0.1:80', '127.0.0.1:8080', '/r', '/i')
    for prefix in ('/files/', '/images/'):
        block = text[text.index('location %s {' % prefix):]
        block = block[:block.index('}')]
        for setting in ('sendfile on;', 'tcp_nopush on;', 'open_file_cache'):
            assert setting in block, (prefix, setting)


def test_whole_config_is_valid_nginx(tmp_path):
    import shutil
    import subprocess
    temp = tmp_path / 'temp'
    temp.mkdir()
    text = nginx.whole_config_text(
        '127.0.0.1:8081', '127.0.0.1:8080', str(tmp_path), str(tmp_path),
        access_log='off', pid=str(tmp_path / 'nginx.pid'),
        error_log=str(tmp_path / 'error.log'), temp_dir=str(temp))
    lines = [line.strip() for line in text.splitlines()]
    assert 'worker_processes auto;' in lines
    assert 'client_body_temp_path %s/client_body;' % temp in lines
    assert text.count('sendfile on;') == 2
    conf = tmp_path / 'nginx.conf'
    conf.write_text(text)
    program = shutil.which('nginx') or '/usr/sbin/nginx'
    result = subprocess.run([program, '-t', '-c', str(conf), '-p',
                             str(tmp_path)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
