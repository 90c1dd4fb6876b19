"""Argument types shared by the commands (lists, choices, k=v)."""

import argparse


class ListAction(argparse.Action):
    """``--x a,b``, ``--x a b`` and repeated ``--x`` all give [a, b].

    With ``choices`` on the action, each item is checked and a bad one
    exits 2 listing the valid values. An empty value (``--nodes ''``,
    what a script passes when its variable is unset) exits 2 too: it
    never means "all".
    """

    def __init__(self, *args, valid=None, **kwargs):
        kwargs.setdefault('nargs', '+')
        self.valid = valid
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        for value in values:
            items.extend(v for v in value.replace(',', ' ').split() if v)
        if not items:
            parser.error('%s is empty: name at least one (an empty value '
                         'never means all)' % option_string)
        if self.valid:
            bad = [v for v in items if v not in self.valid]
            if bad:
                parser.error('invalid %s %s (valid: %s)' % (
                    option_string, ', '.join(bad), ', '.join(self.valid)))
        setattr(namespace, self.dest, items)


def key_value(text):
    if '=' not in text:
        raise argparse.ArgumentTypeError('%r is not KEY=VALUE' % text)
    key, value = text.split('=', 1)
    return key, value
