"""Design-only actions: validate_design and prepare_site end at once.

validate_design is a task that ends with every problem of the design.

Each problem becomes one status message whose context is the document and
field it concerns, so ``drydock2 design validate`` can list them all.
Both tasks are written ended, with their messages, in one transaction: a
failure leaves no task behind, never one stuck ``requested``.
"""

from drydockd.site import design


def validate_design(db, design_ref, created_by=None):
    """Record a finished validate_design task; returns the task dict."""
    found = design.problems(design_ref)
    messages = []
    for problem in found:
        context, _, text = problem.partition(': ')
        messages.append({'message': text or problem, 'error': True,
                         'context_type': 'design', 'context': context})
    if found:
        summary = 'Design has %d problems' % len(found)
    else:
        summary = 'Design is valid'
    task = db.record_task({'action': 'validate_design',
                           'design_ref': design_ref,
                           'created_by': created_by},
                          'failure' if found else 'success', summary,
                          messages)
    return db.get_task(task['id'], with_messages=True)


def prepare_site(db, design_ref, created_by=None):
    """Register every node of a valid design; ends at once."""
    loaded = design.load(design_ref)
    db.sync_nodes(loaded['nodes'], design_ref)
    task = db.record_task({'action': 'prepare_site',
                           'design_ref': design_ref,
                           'created_by': created_by}, 'success',
                          '%d nodes registered from the design'
                          % len(loaded['nodes']))
    return db.get_task(task['id'], with_messages=True)
