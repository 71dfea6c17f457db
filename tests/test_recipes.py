import textwrap

import pytest

from redraft.cli import main
from redraft.errors import UsageError
from redraft.recipes.schema import builtin_names, dump_recipe, load_recipe

SPEC_EXAMPLE = """\
name: zh-en-interactive
seed: 0
source:
  path: data/sample.zh-en.tsv
  format: tsv
  src_lang: zh
  tgt_lang: en
teacher:
  provider: openai            # any OpenAI-compatible server, through the official openai client
  base_url: http://127.0.0.1:8000/v1
  model: gpt-4o-mini
  api_key_env: OPENAI_API_KEY
  max_concurrency: 32
  timeout: 60                 # seconds per request
  temperature: 0.7
synth:
  turns: 3                    # assistant turns per dialogue: one translation, then revisions
filters: default
dedupe: default
output:
  path: out/zh-en-interactive
"""


@pytest.fixture
def spec_recipe(tmp_path):
    p = tmp_path / "recipe.yaml"
    p.write_text(SPEC_EXAMPLE)
    return p


def test_spec_example_is_accepted_as_written(spec_recipe):
    r = load_recipe(str(spec_recipe))
    assert (r.name, r.source.src_lang, r.teacher.model, r.synth.turns) == ("zh-en-interactive", "zh", "gpt-4o-mini", 3)
    assert r.filters == "default" and r.dedupe == "default"


def test_builtin_recipes_validate():
    assert {"demo", "bayling-zh-en"} <= set(builtin_names())
    for name in builtin_names():
        assert main(["validate", name]) == 0
    assert load_recipe("demo").teacher.provider == "embedded"
    assert load_recipe("bayling-zh-en").teacher.provider == "openai"


def test_overrides_are_read_as_yaml(spec_recipe):
    r = load_recipe(str(spec_recipe), ["filters=[]", "dedupe=false", "teacher.timeout=5", "synth.turns=4"])
    assert r.filters == [] and r.dedupe is False and r.teacher.timeout == 5 and r.synth.turns == 4


def test_resolved_recipe_holds_no_secret(spec_recipe, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    assert "sk-secret-123" not in dump_recipe(load_recipe(str(spec_recipe)))


def test_bad_field_names_path_and_line(spec_recipe, capsys):
    spec_recipe.write_text(SPEC_EXAMPLE.replace("turns: 3", "turns: three").replace("timeout: 60", "timout: 60"))
    assert main(["validate", str(spec_recipe)]) == 2
    err = capsys.readouterr().err
    assert f"{spec_recipe}:17: synth.turns" in err  # line 17 holds `turns: three`
    assert f"{spec_recipe}:14: teacher.timout" in err


def test_bad_override_is_named(spec_recipe, capsys):
    assert main(["validate", str(spec_recipe), "--set", "teacher.temperature=hot"]) == 2
    assert "--set teacher.temperature=hot: teacher.temperature" in capsys.readouterr().err


def test_set_indexes_lists_and_names_union_fields(spec_recipe, capsys):
    spec_recipe.write_text(SPEC_EXAMPLE.replace("filters: default", "filters:\n  - name: structure"))
    r = load_recipe(str(spec_recipe), ["filters.0.params.x=1"])
    assert [(f.name, f.params) for f in r.filters] == [("structure", {"x": 1})]
    assert main(["validate", str(spec_recipe), "--set", "filters.3.name=refusal"]) == 2
    assert "--set filters.3.name=refusal: no item 3 in a list of 1" in capsys.readouterr().err
    assert main(["validate", str(spec_recipe), "--set", "teacher.threads=many"]) == 2
    err = capsys.readouterr().err  # `int | Literal["auto"]`: pydantic's union tags stay out of the field path
    assert "--set teacher.threads=many: teacher.threads: Input should be a valid integer" in err and ".int" not in err


def test_unknown_recipe_and_bad_yaml(tmp_path, capsys):
    assert main(["validate", "no-such-recipe"]) == 2
    assert "built-in" in capsys.readouterr().err
    p = tmp_path / "broken.yaml"
    p.write_text(textwrap.dedent("""\
        name: x
        source: [unclosed
        """))
    with pytest.raises(UsageError, match="broken.yaml:"):
        load_recipe(str(p))


def test_an_unquoted_slurm_time_is_named_not_read_as_minutes(spec_recipe, capsys):
    # YAML 1.1 reads `10:00` as the sexagesimal number 600: refused, naming the line and the field, not sent as 600
    spec_recipe.write_text(SPEC_EXAMPLE + "executor:\n  kind: slurm\n  slurm:\n    time: 10:00\n")
    assert main(["validate", str(spec_recipe)]) == 2
    assert f"{spec_recipe}:25: executor.slurm.time" in capsys.readouterr().err
    spec_recipe.write_text(SPEC_EXAMPLE + 'executor:\n  kind: slurm\n  slurm:\n    time: "10:00"\n')
    assert load_recipe(str(spec_recipe)).executor.slurm.time == "10:00"
