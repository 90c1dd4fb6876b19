"""What the API returns: DB dicts shaped for callers (JSON-safe)."""

from drydockd.messaging.schemas import format_time

_TIMES = ('created', 'updated', 'time_start', 'time_end', 'terminated',
          'deleted_at', 'heartbeat')


def task_summary(task):
    """The flat form used by listings."""
    return {
        'id': task['id'], 'task_id': task['uuid'], 'action': task['action'],
        'status': task['status'], 'result': task['result_status'],
        'progress': task['progress'], 'created': format_time(task['created']),
        'design_ref': task['design_ref'], 'dry_run': task['dry_run'],
        'deleted': task['deleted_at'] is not None,
    }


def task_document(task):
    """The Drydock Task Status document (docs/tasks.md)."""
    messages = [{'message': m['message'], 'error': m['error'],
                 'context_type': m['context_type'], 'context': m['context'],
                 'ts': format_time(m['ts'])}
                for m in task.get('messages', [])]
    return {
        'Kind': 'Task', 'apiVersion': 'v1', 'id': task['id'],
        'task_id': task['uuid'], 'action': task['action'],
        'design_ref': task['design_ref'],
        'parent_task_id': task.get('parent_uuid'),
        'subtask_id_list': [t['uuid'] for t in task.get('subtasks', [])],
        'status': task['status'], 'node_filter': task['node_filter'],
        'progress': task['progress'], 'dry_run': task['dry_run'],
        'created': format_time(task['created']),
        'created_by': task['created_by'],
        'updated': format_time(task['updated']),
        'terminated': format_time(task['terminated']),
        'terminated_by': task['terminated_by'],
        'deleted': format_time(task['deleted_at']),
        'result': {
            'Kind': 'Status', 'apiVersion': 'v1', 'metadata': {},
            'status': task['result_status'],
            'message': task['result_message'],
            'reason': task['result_reason'],
            'details': {'errorCount': task['result_error_count'],
                        'messageList': messages},
        },
    }


def history_row(row):
    out = dict(row)
    out['node_id'] = row['node_id'] if row['node_id'] is not None else 'null'
    out['time_start'] = format_time(row['time_start'])
    out['time_end'] = format_time(row['time_end'])
    return out


def node(node_row):
    out = dict(node_row)
    for key in ('updated', 'power_read_at', 'power_drift_at'):
        out[key] = format_time(node_row.get(key))
    return out
