"""Errors the CLI turns into exit codes: UsageError (bad usage, config or input data) exits 2."""


class UsageError(Exception):
    """Bad usage, a bad recipe or bad input data. The message names the file, line and field."""


class ConfigError(UsageError):
    """A recipe, training or eval config, or a `--set` override, that cannot be used; the message says where."""


class InputError(UsageError):
    """Input data that cannot be read: ragged, undecodable or missing columns."""

    def __init__(self, file: str, line: int | str | None, message: str):
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")

    def __reduce__(self):  # survives the trip back from a worker process
        return InputError, (self.file, self.line, self.message)
