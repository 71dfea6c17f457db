"""Evaluation: does the data make a better translator?

score.py scores hypothesis files like the sacrebleu command line (metrics.py), plus lexical-constraint metrics.
`redraft eval SUITE --model M -o DIR` runs suites (suites/: translation, constrained, interactive, bayling80) against
a model under test (models.py: a local Hugging Face folder in-process, an OpenAI-compatible server through synth's
request layer and response cache, or precomputed hypotheses); runner.py keeps each finished suite, so a re-run
computes only what is missing, and publishes results.json, generations.parquet and a README report (report.py).
reviews.py reads BayLing-format pairwise reviews; judge.py asks an LLM judge for them in both orders.
"""
