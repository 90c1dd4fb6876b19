"""``drydock2 design validate REF``."""

from cliff import lister

from drydock_client.cli import task as task_cli

COLUMNS = ('context', 'problem')


class ValidateDesign(task_cli.ExitOnFailure, lister.Lister):
    """Validate a site design; list every problem (exit 1 if any)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('design_ref', type=task_cli.design_ref,
                            help='file:///abs/path.yaml, http(s):// or a '
                                 'local path')
        return parser

    def take_action(self, parsed):
        doc = self.app.client_manager.drydock.create_task(
            'validate_design', parsed.design_ref)
        self.failed = doc['result']['status'] != 'success'
        problems = [m for m in doc['result']['details']['messageList']
                    if m['error'] and m['context_type'] == 'design']
        self.app.stderr.write(doc['result']['message'] + '\n')
        return COLUMNS, [(m['context'], m['message']) for m in problems]
