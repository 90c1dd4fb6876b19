"""common.redact: credentials in design refs are masked, the rest kept."""

import pytest
import sqlalchemy as sa

from drydockd.common import redact
from drydockd.db import models


@pytest.mark.parametrize('ref,masked', [
    ('https://admin:hunter2@design.example/site.yaml',
     'https://***@design.example/site.yaml'),
    ('https://ghp_TOKEN123@design.example:8443/s.yaml',
     'https://***@design.example:8443/s.yaml'),
    ('https://d.example/s.yaml?token=abc&rev=7',
     'https://d.example/s.yaml?token=***&rev=7'),
    ('https://b.s3.example/s.yaml?X-Amz-Credential=AK%2F1&X-Amz-Date=1'
     '&X-Amz-Signature=deadbeef',
     'https://b.s3.example/s.yaml?X-Amz-Credential=***&X-Amz-Date=1'
     '&X-Amz-Signature=***'),
    ('https://d.example/s.yaml?sv=1&sig=abc%2B%3D&se=2',
     'https://d.example/s.yaml?sv=1&sig=***&se=2'),
    ('https://d.example/s.yaml?api_key=1;password=2;Secret=3;apikey=4',
     'https://d.example/s.yaml?api_key=***;password=***;Secret=***;'
     'apikey=***'),
    ('https://d.example/s.yaml#access_token=abc',
     'https://d.example/s.yaml#access_token=***'),
    ('https://u:p@d.example/s.yaml?key=1#x=2',
     'https://***@d.example/s.yaml?key=***#x=2'),
    ('file:///srv/drydock/site.yaml', 'file:///srv/drydock/site.yaml'),
    ('https://d.example/keyword.yaml?design=1&keyword=2',
     'https://d.example/keyword.yaml?design=1&keyword=2'),
    ('https://d.example/a@b.yaml', 'https://d.example/a@b.yaml'),
    (None, None),
])
def test_mask_ref(ref, masked):
    assert redact.mask_ref(ref) == masked


def test_the_database_never_gets_the_real_ref(tmp_path):
    """Whoever writes a design_ref column (ORM or Core), it is masked."""
    engine = sa.create_engine('sqlite:///%s' % (tmp_path / 'x.sqlite'))
    models.Base.metadata.create_all(engine)
    ref = 'https://admin:hunter2@d.example/s.yaml?token=tok-SECRET'
    with engine.begin() as conn:
        conn.execute(sa.insert(models.Node).values(
            id=1, name='n1', design_ref=ref))
    raw = '\n'.join(sa.create_engine(
        'sqlite:///%s' % (tmp_path / 'x.sqlite')).raw_connection()
        .driver_connection.iterdump())
    assert 'hunter2' not in raw and 'tok-SECRET' not in raw
    assert 'https://***@d.example/s.yaml?token=***' in raw


def test_log_lines_mask_url_credentials():
    import io
    import logging

    from drydockd.common import logs
    stream = io.StringIO()
    logs.setup(debug=True, stream=stream)
    try:
        logging.getLogger('drydockd.test').debug(
            'fetching %s for %s', 'https://u:hunter2@d.example/s.yaml'
            '?rev=1&token=tok-SECRET', 'amqp://drydock:pw-SECRET@mq//')
    finally:
        logs.setup()
    text = stream.getvalue()
    assert 'hunter2' not in text and 'SECRET' not in text
    assert 'https://***@d.example/s.yaml?rev=1&token=***' in text
    assert 'amqp://***@mq//' in text
