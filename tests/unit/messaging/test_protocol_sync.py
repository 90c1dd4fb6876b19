"""The Python side of the protocol and its JSON Schemas cannot drift."""

import json
import os

from drydockd.messaging import schemas

HERE = os.path.dirname(schemas.__file__)


def _schema(name):
    with open(os.path.join(HERE, 'jsonschema', name)) as f:
        return json.load(f)


def test_report_methods_match_the_schema():
    enum = _schema('report.json')['properties']['method']['enum']
    assert set(enum) == schemas.REPORTS


def test_every_request_answers_with_a_known_report():
    assert set(schemas.REQUESTS.values()) <= schemas.REPORTS
    for method in schemas.REQUESTS:
        body = schemas.request(method, 'uuid-1')
        assert schemas.validate_request(body) is body
