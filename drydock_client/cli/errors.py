"""The one error CLI commands raise: cliff prints it as one line, exit 1."""


class CommandError(Exception):
    pass
