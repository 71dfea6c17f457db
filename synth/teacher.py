"""What a teacher is: something that completes a chat, and the `Completion` it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from redraft.types import Turn


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"


class Teacher(Protocol):
    model: str  # the name written to rows and into cache keys
    params: dict  # generation parameters that change the output (part of the cache key)

    async def complete(self, messages: list[Turn], *, seed: int) -> Completion: ...

    async def close(self) -> None: ...


def make_teacher(config) -> Teacher:
    """The teacher a `TeacherConfig` describes. Imports lazily: the embedded one pulls in torch."""
    if config.provider == "embedded":
        from redraft.synth.embedded_teacher import EmbeddedTeacher

        return EmbeddedTeacher(config)
    from redraft.synth.openai_teacher import OpenAITeacher

    return OpenAITeacher(config)
