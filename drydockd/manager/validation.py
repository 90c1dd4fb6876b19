"""The validate_design action: a task that ends at once with every problem.

Each problem becomes one status message whose context is the document and
field it concerns, so ``drydock2 design validate`` can list them all.
"""

from drydockd.manager import design


def validate_design(db, design_ref, created_by=None):
    """Create and finish a validate_design task; returns the task dict."""
    found = design.problems(design_ref)
    task = db.start_task({'action': 'validate_design',
                          'design_ref': design_ref,
                          'created_by': created_by}, [])
    for problem in found:
        context, _, text = problem.partition(': ')
        db.add_result_message(task['id'], text or problem, error=True,
                              context_type='design', context=context)
    if found:
        summary = 'Design has %d problems' % len(found)
    else:
        summary = 'Design is valid'
    db.finish_task(task['id'], 'failure' if found else 'success', summary)
    return db.get_task(task['id'], with_messages=True)
