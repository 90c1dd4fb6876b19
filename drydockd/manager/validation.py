"""Design-only actions: validate_design and prepare_site end at once.

validate_design is a task that ends with every problem of the design.

Each problem becomes one status message whose context is the document and
field it concerns, so ``drydock2 design validate`` can list them all.
"""

from drydockd.site import design

# result_message.context is a String(255): a task id may be that long.
MAX_CONTEXT = 255


def validate_design(db, design_ref, created_by=None):
    """Create and finish a validate_design task; returns the task dict."""
    found = design.problems(design_ref)
    task = db.start_task({'action': 'validate_design',
                          'design_ref': design_ref,
                          'created_by': created_by}, [])
    for problem in found:
        context, _, text = problem.partition(': ')
        if len(context) > MAX_CONTEXT:
            context = context[:MAX_CONTEXT - 3] + '...'
        db.add_result_message(task['id'], text or problem, error=True,
                              context_type='design', context=context)
    if found:
        summary = 'Design has %d problems' % len(found)
    else:
        summary = 'Design is valid'
    db.finish_task(task['id'], 'failure' if found else 'success', summary)
    return db.get_task(task['id'], with_messages=True)


def prepare_site(db, design_ref, created_by=None):
    """Register every node of a valid design; ends at once."""
    loaded = design.load(design_ref)
    db.sync_nodes(loaded['nodes'], design_ref)
    task = db.start_task({'action': 'prepare_site', 'design_ref': design_ref,
                          'created_by': created_by}, [])
    db.finish_task(task['id'], 'success',
                   '%d nodes registered from the design'
                   % len(loaded['nodes']))
    return db.get_task(task['id'], with_messages=True)
