"""Synthesis: teacher LLMs expand parallel pairs into interactive translation dialogues (see step.py)."""
