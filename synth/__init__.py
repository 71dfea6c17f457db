"""Synthesis: teacher LLMs expand parallel pairs into interactive translation dialogues.

step.py (the datatrove step) → engine.py (event loop, sliding window, fail-fast) → dialogue.py (one dialogue's turns:
requests.py for the opening request, revisions.py for the follow-ups) → calls.py (cache.py in front, budget.py beside)
→ teacher.py: openai_teacher.py (with ratelimit.py) or embedded_teacher.py. progress.py draws the progress line;
errors.py holds TeacherUnavailable (stops the run) and TeacherError (rejects one item).
"""
