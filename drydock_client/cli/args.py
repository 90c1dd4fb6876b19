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
        words = list(values)
        trailing = None
        if len(words) > 1 and words[-1].isascii() and words[-1].isdigit():
            # Perhaps the command's positional id, which argparse hands to
            # a list option written before it; see trailing_id.
            trailing = words[-1]
            if self.valid:
                words.pop()     # a number is never one of the choices
        namespace.list_tail = (self.dest, trailing, not self.valid)
        for value in words:
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


def trailing_id(parsed):
    """The id written after a list option (``--nodes 5,6 ID``), taken
    back from the option; None if there is none.

    A command calls this only when its positional id is missing, so the
    last word of its last list option can only have been the id.
    """
    dest, word, in_items = getattr(parsed, 'list_tail', (None, None, False))
    if word is None:
        return None
    if in_items:
        getattr(parsed, dest).pop()
    return positive_int(word)


def positive_int(text):
    """An id or a count: 1 or more, digits only."""
    if not text.isascii() or not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError('%r is not a positive integer'
                                         % text)
    return int(text)


def key_value(text):
    if '=' not in text:
        raise argparse.ArgumentTypeError('%r is not KEY=VALUE' % text)
    key, value = text.split('=', 1)
    return key, value
