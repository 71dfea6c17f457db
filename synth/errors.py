"""Errors of the synthesis stage. The CLI maps RuntimeError to exit 1."""


class TeacherUnavailable(RuntimeError):
    """The teacher cannot be used at all (bad key, wrong URL or model, or most requests failing): stop the run."""


class TeacherError(Exception):
    """One request failed for good (after retries). `reason` becomes the rejected row's reason."""

    def __init__(self, reason: str, message: str = ""):
        self.reason = reason
        super().__init__(f"{reason}: {message}" if message else reason)


class BudgetExhausted(TeacherError):
    """The recipe's `max_cost`/`max_tokens` budget is spent: no new (uncached) calls are made."""

    REASON = "budget_exhausted"

    def __init__(self, message: str = ""):
        super().__init__(self.REASON, message)


class BatchesPending(RuntimeError):
    """`redraft run --wait false`: this run's batches are at the Batch API (just submitted, or not finished yet), and
    the run stops instead of waiting for them; the same command run again collects them. The CLI exits 75."""
