"""The one exception type users see for bad input: a one-line, actionable message."""


class ConfigError(ValueError):
    """Invalid user input (an option, a config value, an environment variable).

    The message is one line that names what was wrong and the accepted forms, so it
    can be shown as-is by a magic (as ``UsageError``) or raised from the Python API.
    """
