"""Synthesis: teacher LLMs expand parallel pairs into interactive translation dialogues.

A pair's path: dialogue.py (`SynthesizeDialogues`, the datatrove step, and one dialogue's turns: requests.py for the
opening request, revisions.py for the follow-ups) on teacher_step.py (`TeacherStep`, shared with the LLM judge of
filters/judge.py: event-loop thread, window of documents in flight, fail-fast, progress line, usage stats)
→ calls.py (`TeacherCalls`: cache.py in front, the budget beside; batch.py's `BatchCalls` with `teacher.batch`, its
requests sent as Batch API files round by round) → teacher.py: openai_teacher.py (with
ratelimit.py) or embedded_teacher.py. errors.py holds TeacherUnavailable (stops the run) and TeacherError (rejects
one item).
"""
