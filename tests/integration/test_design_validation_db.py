"""validate_design stores every problem, on both databases, however long
the names in the design are (a task id may be 255 characters)."""

import pytest
import yaml

import conftest
from drydockd.manager import validation
from drydockd.site import policy


@pytest.mark.parametrize('kind', ['sqlite', 'postgresql'])
def test_long_contexts_fit_the_message_table(kind, tmp_path):
    long_id = 't' * 255
    doc = yaml.safe_load(open(conftest.DEMO_SITE))
    doc['deployment_tasks'].append({
        'id': long_id, 'type': 'shell', 'roles': ['*'],
        'cross_depended_by': [{'name': 'ghost'}],
        'parameters': {'timout': 1}})
    path = tmp_path / 'site.yaml'
    path.write_text(yaml.safe_dump(doc))
    with conftest.migrated_connection(kind, tmp_path) as db:
        task = validation.validate_design(db, 'file://%s' % path,
                                          policy.OPEN)
    assert task['result_status'] == 'failure'
    contexts = sorted(m['context'] for m in task['messages']
                      if m['context_type'] == 'design')
    assert contexts == [
        ('deployment_task %s.cross_depended_by' % long_id)[:252] + '...',
        ('deployment_task %s.parameters.timout' % long_id)[:252] + '...']
