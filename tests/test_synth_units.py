"""Synthesis stage without a server: cache, revisions, dialogues, the step's window and order, budget, flow control."""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
import random
import re

import pytest

from redraft.recipes.schema import Recipe
from redraft.synth import teacher_step
from redraft.synth.cache import ResponseCache, cache_key
from redraft.synth.ratelimit import RateLimiter, parse_reset
from redraft.synth.languages import LANGUAGES
from redraft.synth.requests import first_request
from redraft.synth.revisions import DEFAULT_MIX, KINDS, Context, draw_revision, length_of, resolve_mix
from redraft.synth.dialogue import SynthesizeDialogues
from redraft.synth.teacher import Completion
from redraft.types import ParallelPair, document_to_dialogue, pair_to_document

CJK = re.compile(r"[\u4e00-\u9fff]")


def make_recipe(**synth) -> Recipe:
    return Recipe.model_validate({
        "name": "t", "seed": 7, "source": {"path": "x", "src_lang": "zh", "tgt_lang": "en"},
        "teacher": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "fake", "max_concurrency": 8,
                    "api_key_env": None, "price_per_million_prompt_tokens": 1000.0,
                    "price_per_million_completion_tokens": 2000.0},
        "synth": {"turns": 3, **synth}, "output": {"path": "unused"}})


PAIRS = [ParallelPair.make("zh", "en", f"我们第{i}次去北京旅游。", f"This is our trip number {i} to Beijing together.")
         for i in range(40)] + [ParallelPair.make("de", "en", f"Ich trinke jeden Morgen Kaffee {i}.",
                                                  f"I drink coffee every morning {i}.") for i in range(10)]


class FakeTeacher:
    """Answers after a random delay (so completion order is scrambled); counts calls and concurrency."""

    instances: list["FakeTeacher"] = []

    def __init__(self, config):
        self.model, self.params, self.uses_seed = config.model, {"temperature": config.temperature}, True
        self.calls = self.in_flight = self.max_in_flight = 0
        self.answers: list[Completion] = []
        self.rng = random.Random()  # deliberately unseeded
        FakeTeacher.instances.append(self)

    async def complete(self, messages, *, seed):
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.rng.random() * 0.01)
        self.in_flight -= 1
        last = messages[-1]["content"]
        self.answers.append(Completion(f"Answer {seed % 997} to {last[-40:]}", 10 * len(messages), 5))
        return self.answers[-1]

    async def close(self):
        pass


@pytest.fixture
def fake_teacher(monkeypatch):
    FakeTeacher.instances.clear()
    monkeypatch.setattr(teacher_step, "make_teacher", lambda config: FakeTeacher(config))
    return FakeTeacher


class ListWriter:
    def __init__(self):
        self.docs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def write(self, doc, rank=0):
        self.docs.append(doc)


def run_step(recipe, state_dir, pairs=PAIRS, rejected=None):
    step = SynthesizeDialogues(recipe, str(state_dir), rejected)
    return [document_to_dialogue(d) for d in step.run(iter(pair_to_document(p) for p in pairs))], step


# --- cache -------------------------------------------------------------------------------------------------------

def test_cache_round_trip_survives_reopen_and_torn_line(tmp_path):
    cache = ResponseCache(tmp_path, "w0")
    key = cache_key("m", [{"role": "user", "content": "hi"}], {"temperature": 0.7}, 3)
    cache.put(key, Completion("hello", 4, 1))
    cache.close()
    with open(tmp_path / "w0.jsonl", "ab") as f:
        f.write(b'{"key": "deadbeef", "text": "half a rec')  # killed mid-write
    reopened = ResponseCache(tmp_path, "w0")
    assert reopened.get(key) == Completion("hello", 4, 1)
    assert "deadbeef" not in reopened
    key2 = cache_key("m", [{"role": "user", "content": "hi"}], {"temperature": 0.7}, 4)
    reopened.put(key2, Completion("again", 4, 1))
    reopened.close()
    third = ResponseCache(tmp_path, "w1")  # another worker reads every worker's file
    assert third.get(key2).text == "again" and third.get(key).text == "hello" and len(third) == 2


def test_cache_key_covers_what_changes_the_answer():
    msgs = [{"role": "user", "content": "hi"}]
    base = cache_key("m", msgs, {"temperature": 0.7}, 1)
    assert base == cache_key("m", [dict(m) for m in msgs], {"temperature": 0.7}, 1)
    assert len({base, cache_key("m2", msgs, {"temperature": 0.7}, 1), cache_key("m", msgs, {"temperature": 0.0}, 1),
                cache_key("m", msgs, {"temperature": 0.7}, 2),
                cache_key("m", msgs, {"temperature": 0.7}, 1, {"type": "json_object"}),
                cache_key("m", [{"role": "user", "content": "hi!"}], {"temperature": 0.7}, 1)}) == 6


# --- requests and revisions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("write_in", ["zh", "en", "de"])
def test_first_request_written_in_the_chosen_language(write_in):
    texts = {first_request(random.Random(i), "zh", "en", "我今天很高兴。", write_in) for i in range(30)}
    assert len(texts) >= 3  # varied phrasings
    for t in texts:
        assert "我今天很高兴。" in t
        rest = t.replace("我今天很高兴。", "")
        assert bool(CJK.search(rest)) == (write_in == "zh")


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("write_in", ["zh", "en", "de"])
def test_every_kind_phrases_a_request_and_records_checkable_args(kind, write_in):
    ctx = Context("zh", "en", "我们明天下午在图书馆见面。", "We will meet at the library tomorrow afternoon.",
                  last_answer="Tomorrow afternoon we meet in the library.", write_in=write_in)
    revision = KINDS[kind].make(random.Random(3), ctx)
    assert revision is not None and revision.kind == kind and revision.request.strip()
    assert bool(CJK.search(revision.request)) == (write_in == "zh")
    json.dumps(revision.args)
    args = revision.args
    if kind in ("include_word", "error_correction"):
        assert args["word"] in ctx.reference_text and args["word"].lower() not in ctx.last_answer.lower()
        assert args["word"] in revision.request
    if kind in ("avoid_word", "explain"):
        assert args["word"] in ctx.last_answer and args["word"] in revision.request
    if kind == "shorten":
        assert 2 <= args["max_words"] < length_of(ctx.last_answer, "en")
        assert str(args["max_words"]) in revision.request
    if kind == "third_language":
        assert args["lang"] not in ("zh", "en")
    if kind == "back_translation":
        assert args == {"lang": "zh"}


def test_unspaced_target_gets_character_limits_and_spans_from_the_reference():
    ctx = Context("en", "zh", "We meet at the library.", "我们明天下午在图书馆见面。", last_answer="我们在图书馆见。",
                  write_in="en")
    shorten = KINDS["shorten"].make(random.Random(1), ctx)
    assert "max_chars" in shorten.args and shorten.args["max_chars"] < len("我们在图书馆见")
    word = KINDS["include_word"].make(random.Random(1), ctx).args["word"]
    assert word in ctx.reference_text and word not in ctx.last_answer


def test_shorten_limit_is_set_from_the_last_answer_not_the_reference():
    # a 7-word answer against a 15-word reference: a limit drawn from the reference (8-12) would already be met
    ctx = Context("de", "en", "Der Ausschuss wird seinen Abschlussbericht nächste Woche in Genf vorlegen, sagte er.",
                  "The committee will present its final report in Geneva next week, the spokesman said on Friday.",
                  last_answer="Committee presents final report next week.", write_in="en")
    for seed in range(20):
        assert KINDS["shorten"].make(random.Random(seed), ctx).args["max_words"] < 6


def test_a_chinese_answer_in_an_english_dialogue_offers_no_word():
    # a weak teacher answered in Chinese: the whole sentence is one \w+ run, not a word to avoid or explain
    ctx = Context("zh", "en", "我们明天下午在图书馆见面。", "We will meet at the library tomorrow afternoon.",
                  last_answer="我们明天下午在图书馆见面。Meeting!", write_in="en")
    for kind in ("avoid_word", "explain"):
        assert {KINDS[kind].make(random.Random(seed), ctx).args["word"] for seed in range(10)} == {"Meeting"}


@pytest.mark.parametrize("audience", ["children", "experts", "learners"])
def test_german_audience_requests_agree_in_case_and_number(audience):
    # one plural noun phrase serves both the accusative after "für" and the subject of "dass ... verstehen"
    ctx = Context("en", "de", "x", "y", last_answer="y", write_in="de")
    value = LANGUAGES["de"].values["audience"][audience]
    phrases = {KINDS["audience"].phrase(random.Random(seed), ctx, {"audience": audience}) for seed in range(20)}
    assert phrases == {f"Passe die Übersetzung für {value} an.", f"Schreib es so um, dass {value} es leicht verstehen."}
    assert "," not in value and not value.startswith(("ein ", "eine ", "jemand"))


def test_language_changing_kinds_only_close_a_dialogue():
    ctx = Context("zh", "en", "你好。", "Hello there, my friend.", "Hi friend.", "en")
    mix = resolve_mix(DEFAULT_MIX)
    rng = random.Random(0)
    early = {draw_revision(rng, mix, ctx, final_turn=False).kind for _ in range(300)}
    final = {draw_revision(rng, mix, ctx, final_turn=True).kind for _ in range(300)}
    assert not early & {"third_language", "back_translation"}
    assert {"third_language", "back_translation"} <= final


def test_unknown_revision_kind_is_a_recipe_error():
    with pytest.raises(ValueError, match="unknown revision kinds"):
        make_recipe(revisions={"polish": 1, "rhyme": 2})


# --- the step ----------------------------------------------------------------------------------------------------

def test_step_is_picklable_and_deep_copyable_before_run(tmp_path):
    step = SynthesizeDialogues(make_recipe(), str(tmp_path))
    assert pickle.loads(pickle.dumps(step)).recipe == step.recipe
    copy.deepcopy(step)


def test_dialogues_in_input_order_and_independent_of_completion_order(tmp_path, fake_teacher):
    rows_a, _ = run_step(make_recipe(max_in_flight=1), tmp_path / "a")
    rows_b, step = run_step(make_recipe(max_in_flight=32), tmp_path / "b")
    assert [d.id for d in rows_a] == [p.id for p in PAIRS]
    assert rows_a == rows_b
    assert step.stats["dialogues"].total == len(PAIRS)
    for d in rows_a:
        roles = [m["role"] for m in d.messages]
        assert roles == ["user", "assistant"] * 3
        assert len(d.revisions) == len(d.revision_args) == 2
        assert d.teacher == "fake"
        assert d.usage["prompt_tokens"] == 10 * (1 + 3 + 5) and d.usage["completion_tokens"] == 15
    # the seed decides: another recipe seed gives other dialogues
    other, _ = run_step(make_recipe().model_copy(update={"seed": 8}), tmp_path / "c")
    assert [d.messages for d in other] != [d.messages for d in rows_a]


def test_share_of_requests_in_the_source_language(tmp_path, fake_teacher):
    rows, _ = run_step(make_recipe(request_in_source_language=1.0, turns=1), tmp_path / "a", PAIRS[:40])
    assert all(CJK.search(d.messages[0]["content"].replace(d.source_text, "")) for d in rows)
    rows, _ = run_step(make_recipe(request_in_source_language=0.0, turns=1), tmp_path / "b", PAIRS[:40])
    assert not any(CJK.search(d.messages[0]["content"].replace(d.source_text, "")) for d in rows)


def test_window_bounds_items_in_flight_and_reads_input_lazily(tmp_path, fake_teacher):
    consumed = []

    def docs():
        for p in PAIRS:
            consumed.append(p.id)
            yield pair_to_document(p)

    step = SynthesizeDialogues(make_recipe(max_in_flight=5), str(tmp_path))
    out = step.run(docs())
    next(out)
    assert len(consumed) <= 6
    rest = list(out)
    assert len(rest) == len(PAIRS) - 1
    assert fake_teacher.instances[0].max_in_flight <= 5


def test_rerun_answers_every_call_from_the_cache(tmp_path, fake_teacher):
    first, _ = run_step(make_recipe(), tmp_path)
    calls = fake_teacher.instances[0].calls
    assert calls == 3 * len(PAIRS)
    second, step = run_step(make_recipe(), tmp_path)
    assert fake_teacher.instances[1].calls == 0
    assert second == first
    assert step.stats["cached_requests"].total == calls


def test_budget_stops_cleanly_and_a_larger_budget_resumes(tmp_path, fake_teacher):
    # each call: 10*k prompt tokens at $1000/M and 5 completion tokens at $2000/M; a whole dialogue ~= $0.1
    rejected = ListWriter()
    rows, step = run_step(make_recipe(max_cost=1.0, max_in_flight=4), tmp_path, rejected=rejected)
    failed = {d.metadata["reason"] for d in rejected.docs}
    assert rows and failed == {"budget_exhausted"} and len(rows) + len(rejected.docs) == len(PAIRS)
    paid = fake_teacher.instances[0].calls
    assert paid < 3 * len(PAIRS)
    more, _ = run_step(make_recipe(max_cost=100.0), tmp_path, rejected=ListWriter())
    assert len(more) == len(PAIRS)
    assert fake_teacher.instances[0].calls + fake_teacher.instances[1].calls == 3 * len(PAIRS)  # nothing paid twice
    by_id = {d.id: d for d in more}
    assert all(by_id[d.id] == d for d in rows)  # what the small budget made is what the full run keeps


def test_budget_overshoot_is_bounded_by_the_calls_in_flight_not_by_the_window(tmp_path, fake_teacher):
    # the window holds 4 x 8 dialogues, all asking at once; a first call costs $0.02 (without the bound: $0.80)
    recipe = make_recipe(max_cost=0.1)
    run_step(recipe, tmp_path, rejected=ListWriter())
    costs = [(c.prompt_tokens * 1000 + c.completion_tokens * 2000) / 1e6 for c in fake_teacher.instances[0].answers]
    assert 0.1 <= sum(costs) <= 0.1 + recipe.teacher.max_concurrency * max(costs)


def test_budget_is_split_over_the_tasks_of_a_run(tmp_path, fake_teacher):
    recipe = make_recipe(max_cost=1.0, max_in_flight=4)
    spent = 0.0
    for rank in range(2):  # two shards of one run: together they stay within the run's budget
        step = SynthesizeDialogues(recipe, str(tmp_path))
        list(step.run(iter(pair_to_document(p) for p in PAIRS[rank::2]), rank=rank, world_size=2))
        spent += step.stats["cost_microusd"].total / 1e6
    assert 0.5 < spent <= 1.0 + 2 * 4 * 0.05  # at most the calls in flight past each task's share


def test_teacher_limits_are_shared_by_the_workers_running_at_once(tmp_path):
    recipe = make_recipe()
    recipe.teacher = recipe.teacher.model_copy(update={"max_concurrency": 9, "requests_per_minute": 120.0,
                                                       "tokens_per_minute": 6000.0})
    recipe.executor = recipe.executor.model_copy(update={"tasks": 4, "workers": 2})
    limits = {}
    for world_size in (1, 4):
        session = teacher_step.TeacherSession(SynthesizeDialogues(recipe, tmp_path), rank=0, world_size=world_size)
        limiter = session.calls["assistant"].teacher.limiter
        limits[world_size] = (limiter.max_concurrency, limiter.requests.rate * 60, limiter.tokens.rate * 60)
        session.close()
    assert limits[1] == (9, 120.0, 6000.0)
    assert limits[4] == (5, 60.0, 3000.0)  # 2 of the 4 tasks run at once


def test_user_teacher_phrases_follow_ups(tmp_path, fake_teacher):
    recipe = make_recipe(turns=2)
    recipe = recipe.model_copy(update={"user_teacher": recipe.teacher.model_copy(update={"model": "phraser"})})
    rows, step = run_step(recipe, tmp_path, PAIRS[:5])
    for d in rows:
        assert d.messages[2]["content"].startswith("Answer ")  # the user teacher's wording
        assert "Rewrite this request" not in d.messages[2]["content"]
    assert step.stats["user_requests"].total == 5 and step.stats["requests"].total == 10


# --- flow control ------------------------------------------------------------------------------------------------

def test_parse_reset_durations():
    assert parse_reset("20ms") == pytest.approx(0.02)
    assert parse_reset("6m0s") == 360
    assert parse_reset("1.5s") == 1.5
    assert parse_reset("2") == 2
    assert parse_reset(None) is None


def test_concurrency_backs_off_on_429_and_recovers():
    async def scenario():
        limiter = RateLimiter(32)
        limiter.on_response(429, {"retry-after": "0.2"})
        assert limiter.limit == 16 and limiter.paused_until > 0
        limiter.on_response(429, {})  # same burst: no second halving
        assert limiter.limit == 16
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with limiter.slot():
            waited = loop.time() - start
        assert waited >= 0.15  # Retry-After pauses every request, not only the one that got the 429
        for _ in range(1000):
            limiter.on_response(200, {})
        assert limiter.limit == 32

        limiter.on_response(200, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "150ms"})
        start = loop.time()
        async with limiter.slot():
            assert loop.time() - start >= 0.1

    asyncio.run(scenario())


def test_adaptive_limit_caps_requests_in_flight():
    async def scenario():
        limiter = RateLimiter(8)
        limiter.limit = 2
        peak = current = 0

        async def one():
            nonlocal peak, current
            async with limiter.slot():
                current += 1
                peak = max(peak, current)
                await asyncio.sleep(0.005)
                current -= 1

        await asyncio.gather(*(one() for _ in range(20)))
        return peak

    assert asyncio.run(scenario()) == 2


def test_requests_per_minute_bucket_spaces_requests():
    async def scenario():
        limiter = RateLimiter(100, requests_per_minute=1200)  # 20/s, bursting one second's worth
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(30):
            async with limiter.slot():
                pass
        return loop.time() - start

    assert asyncio.run(scenario()) >= 0.4  # 20 from the burst, then 10 more at 20/s


def test_embedded_teacher_gathers_concurrent_requests_into_batches():
    from types import SimpleNamespace

    from redraft.synth.embedded_teacher import EmbeddedTeacher

    teacher = EmbeddedTeacher(SimpleNamespace(max_tokens=8, batch_size=4))
    sizes = []

    def fake_generate(conversations):  # stands in for the model: answers name their prompt
        sizes.append(len(conversations))
        return [Completion(f"answer to {c[-1]['content']}", 3, 2) for c in conversations]

    teacher.generate = fake_generate

    async def scenario():
        replies = await asyncio.gather(*(teacher.complete([{"role": "user", "content": f"q{i}"}], seed=i)
                                         for i in range(10)))
        await teacher.close()
        return replies

    replies = asyncio.run(scenario())
    assert [r.text for r in replies] == [f"answer to q{i}" for i in range(10)]
    assert sizes == [4, 4, 2]


def test_tokens_per_minute_bucket_charges_estimates_and_settles_actuals():
    async def scenario():
        limiter = RateLimiter(100, tokens_per_minute=6000)  # 100 tokens/s, bursting 100
        loop = asyncio.get_running_loop()
        async with limiter.slot(estimated_tokens=100):
            pass
        limiter.used_tokens(estimated=100, actual=40)  # the call used less than estimated: 60 come back
        start = loop.time()
        async with limiter.slot(estimated_tokens=60):
            quick = loop.time() - start
        start = loop.time()
        async with limiter.slot(estimated_tokens=50):
            slow = loop.time() - start
        return quick, slow

    quick, slow = asyncio.run(scenario())
    assert quick < 0.1 and slow >= 0.4


def test_loop_threads_hold_back_gc_until_the_last_one_closes():
    import gc

    from redraft.synth.teacher_step import LoopThread, fewer_gc_pauses

    before = gc.get_threshold()
    first = LoopThread("a")
    assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] >= fewer_gc_pauses.YOUNG_THRESHOLD
    second = LoopThread("b")
    first.close()  # closed out of order: the second loop still runs with fewer pauses
    assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] >= fewer_gc_pauses.YOUNG_THRESHOLD
    second.close()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_free_cores_sees_a_busy_process_on_its_cores():
    import os
    import subprocess
    import sys
    import time

    from redraft.synth.free_cores import FreeCores

    cores = FreeCores(first_wait=0.5)
    if len(cores.cores) < 2:
        pytest.skip("needs 2 cores")
    time.sleep(0.5)
    quiet = cores.others_busy()
    if quiet > len(cores.cores) - 1:  # other work already fills the cores: one more busy loop cannot show
        pytest.skip(f"the machine is busy ({quiet:.2f} of {len(cores.cores)} cores): no free core to watch fill up")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        cores.others_busy()  # starts a measurement window with the loop running
        time.sleep(1.0)
        loaded = cores.others_busy()
        threads = cores.threads()
    finally:
        busy.kill()
        busy.wait()
    # the loop keeps one core busy; this process's own work never counts
    assert loaded - quiet > 0.6, (quiet, loaded)
    assert threads <= len(cores.cores) - 1 or os.cpu_count() > len(cores.cores)


def test_teacher_threads_is_auto_or_a_positive_count():
    from pydantic import ValidationError

    from redraft.synth.config import TeacherConfig

    assert TeacherConfig(provider="embedded").threads == "auto"
    assert TeacherConfig(provider="embedded", threads=2).threads == 2
    for bad in (0, "many"):
        with pytest.raises(ValidationError):
            TeacherConfig(provider="embedded", threads=bad)
