"""Design-only actions: validate_design and prepare_site end at once.

validate_design is a task that ends with every problem of the design.

Each problem becomes one status message whose context is the document and
field it concerns, so ``drydock2 design validate`` can list them all.
Both tasks are written ended, with their messages, in one transaction: a
failure leaves no task behind, never one stuck ``requested``.
"""

from drydockd.site import design

# result_message.context holds at most this many characters.
CONTEXT_LENGTH = 255


def validate_design(db, design_ref, policy, created_by=None,
                    dry_run=False):
    """Record a finished validate_design task; returns the task dict.

    It only reads the design, so a dry run is the same task marked so.
    """
    found = design.problems(design_ref, policy)
    messages = []
    for problem in found:
        context, _, text = problem.partition(': ')
        if len(context) > CONTEXT_LENGTH:
            # A field of a task whose id alone may be that long.
            context = context[:CONTEXT_LENGTH - 3] + '...'
        messages.append({'message': text or problem, 'error': True,
                         'context_type': 'design', 'context': context})
    if found:
        summary = 'Design has %d problem%s' % (len(found),
                                                's' if len(found) > 1 else '')
    else:
        summary = 'Design is valid'
    task = db.record_task({'action': 'validate_design',
                           'design_ref': design_ref, 'dry_run': dry_run,
                           'created_by': created_by},
                          'failure' if found else 'success', summary,
                          messages)
    return db.get_task(task['id'], with_messages=True)


def prepare_site(db, design_ref, policy, created_by=None, dry_run=False):
    """Register every node of a valid design; ends at once.

    A dry run registers nothing and says how many nodes it would.
    """
    loaded = design.load(design_ref, policy=policy)
    count = len(loaded['nodes'])
    if not dry_run:
        db.sync_nodes(loaded['nodes'], design_ref)
    task = db.record_task({'action': 'prepare_site',
                           'design_ref': design_ref, 'dry_run': dry_run,
                           'created_by': created_by}, 'success',
                          'Dry run: would register %d nodes from the design'
                          % count if dry_run else
                          '%d nodes registered from the design' % count)
    return db.get_task(task['id'], with_messages=True)
