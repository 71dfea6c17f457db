"""A pairwise LLM judge in BayLing's review format: it sees one conversation of each assistant and ends with
"Score of the Assistant 1: X" and "Score of the Assistant 2: Y" (1-10). BayLing asked GPT-4 once per question,
the system always first; here each question is judged in both orders, so a judge's preference for a position
cancels out. Requests go through synth's request layer and response cache, like the model's."""

from __future__ import annotations

import asyncio

from redraft.synth.calls import request_seed
from redraft.synth.errors import TeacherError

from .reviews import parse_review

SYSTEM = ("You are a careful, impartial reviewer of AI assistants. You compare the answers two assistants gave in "
          "the same conversation with a user.")
INSTRUCTIONS = """Rate the helpfulness, relevance, accuracy and level of detail of each assistant's answers, over the
whole conversation, with an overall score from 1 to 10 (higher is better). Judge the content only: neither the order
in which the assistants appear nor the length of their answers should sway you.
Reply in this form:
Evaluation evidence: <your reasons, briefly>
Score of the Assistant 1: <score>
Score of the Assistant 2: <score>"""
RETRY = "End your review with the two lines \"Score of the Assistant 1: X\" and \"Score of the Assistant 2: Y\"."


def conversation(questions: list[str], answers: list[str]) -> str:
    return "\n\n".join(f"### User:\n{q}\n\n### Assistant:\n{a}" for q, a in zip(questions, answers))


def review_messages(questions: list[str], first: list[str], second: list[str]) -> list[dict]:
    body = (f"<|The Start of Assistant 1's Conversation with User|>\n{conversation(questions, first)}\n"
            f"<|The End of Assistant 1's Conversation with User|>\n\n"
            f"<|The Start of Assistant 2's Conversation with User|>\n{conversation(questions, second)}\n"
            f"<|The End of Assistant 2's Conversation with User|>\n\n{INSTRUCTIONS}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


async def review(calls, key: str, order: int, questions: list[str], first: list[str], second: list[str],
                 retries: int = 1) -> dict:
    """One review: {"text", "scores": [s1, s2] or None, "error"}."""
    messages = review_messages(questions, first, second)
    text = None
    for attempt in range(retries + 1):
        try:
            reply = await calls.complete(messages, seed=request_seed(0, key, 2 * attempt + order, "judge"))
        except TeacherError as e:
            return {"text": text, "scores": None, "error": e.reason}
        text = reply.text
        scores = parse_review(text)
        if scores is not None:
            return {"text": text, "scores": list(scores), "error": None}
        messages = messages[:2] + [{"role": "assistant", "content": text}, {"role": "user", "content": RETRY}]
    return {"text": text, "scores": None, "error": "no_scores"}


async def judge_both_orders(calls, key: str, questions: list[str], system: list[str], baseline: list[str],
                            both_orders: bool = True) -> dict:
    """The system's and the baseline's scores, each the mean over the orders that gave scores (None when none did),
    and the reviews: order 0 puts the system first (as BayLing did), order 1 the baseline."""
    orders = [review(calls, key, 0, questions, system, baseline)]
    if both_orders:
        orders.append(review(calls, key, 1, questions, baseline, system))
    reviews = list(await asyncio.gather(*orders))
    s = [r["scores"][0] for r in reviews[:1] if r["scores"]] + [r["scores"][1] for r in reviews[1:] if r["scores"]]
    b = [r["scores"][1] for r in reviews[:1] if r["scores"]] + [r["scores"][0] for r in reviews[1:] if r["scores"]]
    return {"system": sum(s) / len(s) if s else None, "baseline": sum(b) / len(b) if b else None, "reviews": reviews}
