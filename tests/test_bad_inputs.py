"""Bad inputs across the commands, as a new user makes them: each ends with exit 2 (bad usage or input) or 1 (a
runtime failure), a message naming the file and line or the field, and nothing published. The README's
troubleshooting table lists them."""

import json
import subprocess
import sys
import warnings
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from redraft.cli import main

PAIRS = [("Guten Morgen, wie geht es Ihnen heute?", "Good morning, how are you today?"),
         ("Das Haus am See ist sehr alt.", "The house by the lake is very old."),
         ("Ich trinke jeden Morgen einen Kaffee.", "I drink a coffee every morning."),
         ("Der Zug nach Berlin hat Verspätung.", "The train to Berlin is late."),
         ("Wir gehen morgen im Wald wandern.", "We are going hiking in the forest tomorrow."),
         ("Sie liest ein spannendes Buch über Geschichte.", "She is reading an exciting book about history.")]


def tsv(path, pairs=PAIRS):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path


def recipe(tmp_path, source: str, out, src_lang="de", tgt_lang="en", name="recipe.yaml"):
    p = tmp_path / name
    p.write_text(f"name: bad\nsource:\n  path: {source}\n  src_lang: {src_lang}\n  tgt_lang: {tgt_lang}\n"
                 "teacher:\n  provider: openai\n  base_url: http://127.0.0.1:9/v1\n  model: m\n  api_key_env: PATH\n"
                 f"filters: []\noutput:\n  path: {out}\n", encoding="utf-8")
    return p


def fails(capsys, args, code=2) -> str:
    """Run the CLI in-process; assert the exit code; return what it printed on stderr."""
    assert main(list(map(str, args))) == code
    return capsys.readouterr().err


def published(out) -> list[str]:
    return sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) if out.exists() else []


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "redraft.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


# ---- filter / dedupe ----

def test_empty_input_says_no_rows_and_publishes_nothing(tmp_path, capsys):
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n\n")
    out = tmp_path / "o"
    assert f"{empty}: no rows" in fails(capsys, ["filter", empty, "--langs", "zh-en", "-o", out])
    assert published(out) == []
    assert f"{empty}: no rows" in fails(capsys, ["dedupe", empty, "--langs", "zh-en", "-o", out])


def test_empty_recipe_source_says_no_rows_before_any_teacher_call(tmp_path, capsys):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    out = tmp_path / "o"
    assert f"{empty}: no rows" in fails(capsys, ["run", recipe(tmp_path, empty, out)])
    assert published(out) == []


def test_every_row_dropped_prints_no_library_warnings(tmp_path):
    blank = tsv(tmp_path / "blank.tsv", [(s, " ") for s, _ in PAIRS])  # every pair dropped: an empty side
    r = cli("filter", blank, "--langs", "de-en", "-o", tmp_path / "o")
    assert r.returncode == 0 and "kept 0" in r.stdout
    assert "Warning" not in r.stderr and "legend" not in r.stderr, r.stderr


@pytest.mark.parametrize("content, message", [
    ("a\tb\tc\n", ":1: expected 2 tab-separated fields"),
])
def test_malformed_tsv_names_the_line(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.tsv"
    bad.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS) + content)
    assert f"{bad}:{len(PAIRS) + 1}{message[2:]}" in fails(capsys, ["filter", bad, "--langs", "de-en", "-o",
                                                                     tmp_path / "o"])
    assert published(tmp_path / "o") == []


@pytest.mark.parametrize("rows, message", [
    ([{"src": "Hallo", "tgt": "Hello"}, {"de": "Hallo", "en": "Hello"}], ":2: no source/target columns"),
    ([{"source": "Hallo", "target": None}], ":1: source and target must be strings"),
    ([{"messages": [{"role": "user", "content": 3}]}], ":1: `messages` must be a list of {role, content} strings"),
])
def test_malformed_jsonl_rows_name_file_and_line(tmp_path, capsys, rows, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert f"{bad}{message}" in fails(capsys, ["filter", bad, "--langs", "de-en", "-o", tmp_path / "o"])
    assert published(tmp_path / "o") == []


def test_parquet_with_wrong_columns_or_garbage_is_named(tmp_path, capsys):
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"german": ["Hallo"], "english": ["Hello"]}), wrong)
    assert f"{wrong}:row 1: no source/target columns" in fails(capsys, ["filter", wrong, "--langs", "de-en", "-o",
                                                                        tmp_path / "o"])
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 not really")
    assert f"{garbage}: not a readable parquet file" in fails(capsys, ["dedupe", garbage, "--langs", "de-en", "-o",
                                                                      tmp_path / "o"])
    assert published(tmp_path / "o") == []


def test_unknown_and_mixed_up_languages(tmp_path, capsys):
    pairs = tsv(tmp_path / "de-en.tsv")
    out = tmp_path / "o"
    err = fails(capsys, ["filter", pairs, "--langs", "xx-en", "-o", out])
    assert "--langs xx-en: 'xx' is not a language code" in err and "did you mean" in err
    assert "did you mean zh" in fails(capsys, ["filter", pairs, "--langs", "cn-en", "-o", out])
    assert "--langs zhen: expected two language codes" in fails(capsys, ["dedupe", pairs, "--langs", "zhen", "-o", out])
    err = fails(capsys, ["filter", pairs, "--langs", "en-de", "-o", out])
    assert f"{pairs}: the pairs read as de-en, not en-de" in err and "--langs de-en" in err
    assert "source texts are not in 'fr'" in fails(capsys, ["filter", pairs, "--langs", "fr-en", "-o", out])
    assert published(out) == []


def test_output_folder_that_cannot_hold_the_output(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    tsv(folder / "pairs.tsv")
    err = fails(capsys, ["filter", folder, "--langs", "de-en", "-o", folder / "out"])
    assert f"{folder / 'out'}: the output folder is inside the input {folder}" in err
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert f"{a_file}: exists and is not a folder" in fails(capsys, ["filter", folder, "--langs", "de-en", "-o", a_file])
    assert not (folder / "out").exists()


def test_curate_called_from_python_checks_what_the_cli_checks(tmp_path):
    """The checks live in the API: a notebook calling `curate` gets the CLI's errors, before any work."""
    from redraft.errors import UsageError
    from redraft.recipes.runner import curate

    folder = tmp_path / "in"
    folder.mkdir()
    pairs = tsv(folder / "pairs.tsv")
    with pytest.raises(UsageError, match="--langs xx-en: 'xx' is not a language code.*did you mean"):
        curate(str(pairs), str(tmp_path / "o"), langs="xx-en")
    with pytest.raises(UsageError, match="--langs zhen: expected two language codes"):
        curate(str(pairs), str(tmp_path / "o"), langs="zhen")
    with pytest.raises(UsageError, match=f"{folder / 'out'}: the output folder is inside the input {folder}"):
        curate(str(folder), str(folder / "out"), langs="de-en")
    with pytest.raises(UsageError, match="no such file or folder"):
        curate(str(tmp_path / "nope.tsv"), str(tmp_path / "o"), langs="de-en")
    assert not (tmp_path / "o").exists() and not (folder / "out").exists()


def test_missing_input_exits_2(tmp_path, capsys):
    assert f"{tmp_path / 'nope.tsv'}: no such file or folder" in fails(
        capsys, ["dedupe", tmp_path / "nope.tsv", "-o", tmp_path / "o"])


@contextmanager
def tmpfs(path, options: str):
    """A small tmpfs at `path` (root only: skips where mounting is not allowed)."""
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)])


def test_read_only_output_folder_exits_2(tmp_path, capsys):
    pairs = tsv(tmp_path / "pairs.tsv")
    with tmpfs(tmp_path / "ro", "size=1m,ro") as ro:
        assert f"{ro / 'out'}: cannot write there" in fails(capsys, ["filter", pairs, "--langs", "de-en", "-o",
                                                                     ro / "out"])


def test_full_disk_exits_1_naming_the_output_and_publishes_nothing(tmp_path, capsys):
    pairs = tsv(tmp_path / "pairs.tsv", PAIRS * 200)
    with tmpfs(tmp_path / "full", "size=64k") as full:
        err = fails(capsys, ["filter", pairs, "--langs", "de-en", "-o", full / "out"], code=1)
        assert "No space left on device while writing" in err and str(full / "out") in err
        assert published(full / "out") == []


def test_source_that_changes_while_it_is_read(tmp_path):
    from redraft.readers import InputChanged, ItemReader

    pairs = tsv(tmp_path / "pairs.tsv")
    rows = ItemReader(str(pairs), src_lang="de", tgt_lang="en").read()
    next(rows)
    with pairs.open("a") as f:
        f.write("Noch ein Satz.\tOne more sentence.\n")
    with pytest.raises(InputChanged, match=f"{pairs}: changed while it was being read"):
        list(rows)


# ---- run / validate ----

def test_set_errors_name_the_override(tmp_path, capsys):
    r = recipe(tmp_path, tsv(tmp_path / "pairs.tsv"), tmp_path / "o")
    err = fails(capsys, ["run", r, "--set", "nope.x=1"])
    assert "--set nope.x=1: nope: Extra inputs are not permitted" in err and f"{r}:" not in err
    assert "--set synth.turns=many: synth.turns" in fails(capsys, ["validate", r, "--set", "synth.turns=many"])


def test_unknown_language_code_names_the_field_and_the_closest_codes(tmp_path, capsys):
    r = recipe(tmp_path, tsv(tmp_path / "pairs.tsv"), tmp_path / "o", src_lang="xx")
    err = fails(capsys, ["validate", r])
    assert f"{r}:4: source.src_lang" in err and "'xx' is not a language code" in err and "did you mean" in err
    r = recipe(tmp_path, tmp_path / "pairs.tsv", tmp_path / "o", tgt_lang="deu")
    assert "did you mean de" in fails(capsys, ["validate", r])


def test_real_code_outside_language_id_is_accepted_with_a_warning(tmp_path, capsys):
    r = recipe(tmp_path, tsv(tmp_path / "pairs.tsv"), tmp_path / "o", src_lang="fur")  # Friulian
    assert main(["validate", str(r)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {r}:4: source.src_lang: language ID does not know 'fur'" in err

    from redraft.filters.langid import LanguageIdentifier

    german = "Das ist ganz sicher ein deutscher Satz und kein anderer."
    assert LanguageIdentifier().agrees([german, german], ["fur", "en"]) == [True, False]  # off for that side only


def test_recipe_path_that_is_a_folder(tmp_path, capsys):
    recipe(tmp_path, "pairs.tsv", "o")
    err = fails(capsys, ["run", tmp_path])
    assert f"{tmp_path}: is a folder; give a recipe file (here: recipe.yaml)" in err


def test_recipe_output_inside_its_input_folder(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    tsv(folder / "pairs.tsv")
    r = recipe(tmp_path, folder, folder / "out")
    assert f"{r}:13: output.path: " in fails(capsys, ["run", r])
    assert "--set output.path=" in fails(capsys, ["run", r, "--set", f"output.path={folder}/o2"])
    assert not (folder / "out").exists()


def test_run_with_mixed_up_languages_stops_before_any_teacher_call(tmp_path, capsys):
    out = tmp_path / "o"
    err = fails(capsys, ["run", recipe(tmp_path, tsv(tmp_path / "pairs.tsv"), out, src_lang="en", tgt_lang="de")])
    assert "the pairs read as de-en, not en-de" in err
    assert published(out) == []


@pytest.mark.parametrize("text, message", [
    ("name: x\n  source: [\n", "not valid YAML"),
    ("", ":1: a recipe is a YAML mapping"),
])
def test_recipe_that_is_not_yaml_or_not_a_mapping(tmp_path, capsys, text, message):
    r = tmp_path / "r.yaml"
    r.write_text(text)
    assert message in fails(capsys, ["validate", r])


# ---- stats / show / push / train ----

def test_stats_of_a_missing_folder_writes_nothing(tmp_path):
    r = cli("stats", "nothere", cwd=tmp_path)
    assert r.returncode == 2 and "nothere: no such file or folder" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_stats_only_reads_and_an_empty_folder_is_named(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "no dataset here" in fails(capsys, ["stats", tmp_path / "empty"])
    assert list((tmp_path / "empty").iterdir()) == []


def test_show_missing_or_unreadable_input(tmp_path, capsys):
    assert "nothere: no such file or folder" in fails(capsys, ["show", tmp_path / "nothere"])
    odd = tmp_path / "notes.txt"
    odd.write_text("hello\n")
    assert f"{odd}: cannot tell the format" in fails(capsys, ["show", odd])


def test_push_bad_repo_id_and_folder_without_data(tmp_path, capsys):
    assert "repo id 'no-slash' must look like namespace/name" in fails(capsys, ["push", tmp_path, "no-slash"])
    assert f"{tmp_path}: no data/*.parquet to publish" in fails(capsys, ["push", tmp_path, "me/data"])


def test_train_config_errors_name_file_line_and_override(tmp_path, capsys):
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"model: {tmp_path}\ndata: [{tmp_path}]\noutput_dir: {tmp_path / 'run'}\nmax_steps: 2\nbogus: 1\n")
    assert f"{cfg}:5: config field `bogus`: Extra inputs" in fails(capsys, ["train", cfg])
    cfg.write_text(f"model: {tmp_path}\ndata: [{tmp_path}]\noutput_dir: {tmp_path / 'run'}\nmax_steps: 2\n")
    assert "--set max_steps=two: config field `max_steps`" in fails(capsys, ["train", cfg, "--set", "max_steps=two"])
    assert f"{cfg}:1: config field `model`: {tmp_path} is a folder without config.json" in fails(capsys, ["train", cfg])
    (tmp_path / "config.json").write_text("{}")
    err = fails(capsys, ["train", cfg, "--set", "model=no such model"])
    assert "--set model=no such model: config field `model`: no such model is neither an existing folder nor a Hub" in err
    assert not (tmp_path / "run").exists()


def test_hub_ids_that_do_not_exist_on_the_loopback_hub(tmp_path):
    import os

    from hub_server import TOKEN, HubServer

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"model: {tmp_path / 'model'}\ndata: [nobody/nothing]\noutput_dir: {tmp_path / 'run'}\nmax_steps: 2\n")
    pairs_recipe = tmp_path / "hf.yaml"
    pairs_recipe.write_text("name: hf\nsource: {path: nobody/nothing, format: hf, src_lang: de, tgt_lang: en}\n"
                            "teacher: {provider: openai, base_url: 'http://127.0.0.1:9/v1', model: m, api_key_env: PATH}\n"
                            f"filters: []\noutput: {{path: {tmp_path / 'o'}}}\n")
    with HubServer(tmp_path / "hub") as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env |= {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_XET": "1", "NO_PROXY": "127.0.0.1",
                "HF_HOME": str(tmp_path / "hf"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        for args, message in ((["train", cfg], f"{cfg}:2: config field `data.0.path`: the Hub has no dataset nobody/nothing"),
                              (["run", pairs_recipe], "nobody/nothing: cannot load the Hugging Face dataset")):
            r = subprocess.run([sys.executable, "-m", "redraft.cli", *map(str, args)], env=env, capture_output=True,
                               text=True, timeout=300)
            assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "o" / "data").exists()


# ---- the embedded teacher ----

def test_greedy_decode_uses_the_cache_argument_the_installed_transformers_expects():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from redraft.synth.embedded_teacher import greedy_decode

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1)).eval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = greedy_decode(model, torch.tensor([[0, 5, 6], [3, 4, 5]]), torch.tensor([[0, 1, 1], [1, 1, 1]]), 4, 63)
    assert [len(t) for t in out] == [4, 4]
    assert not [w for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))], \
        [str(w.message) for w in caught]
