"""The Hub dataset card (`README.md`) of an output directory: YAML front matter, then the recipe and the stats."""

from __future__ import annotations

import yaml


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                        (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "n>10M"


def dataset_card(title: str, stats: dict, languages: list[str], kind: str, recipe_yaml: str | None = None,
                 license: str = "apache-2.0", plots: list[str] = (), description: str = "",
                 data_files: str = "data/*.parquet") -> str:
    front = {
        "language": sorted(set(languages) - {"und"}),
        "license": license,
        "task_categories": ["translation", "text-generation"],
        "size_categories": [size_category(stats["kept"])],
        "tags": ["redraft", "synthetic", "interactive-translation"] if kind == "dialogue" else ["redraft",
                                                                                                  "parallel-corpus"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": data_files}]}],
    }
    what = ("interactive translation dialogues: the user asks for a translation, then for revisions turn by turn"
            if kind == "dialogue" else "parallel sentence pairs")
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", "", f"# {title}", "",
             description or f"{stats['kept']:,} {what}, made with redraft.", "",
             "## Funnel", "", "| stage | items |", "|---|---:|", f"| input | {stats['input']:,} |"]
    for status in ("dropped", "failed"):
        for reason, n in stats[status].items():
            lines.append(f"| {status}: {reason} | {n:,} |")
    lines += [f"| **kept** | **{stats['kept']:,}** |", ""]
    lines += [f"![{p.rsplit('/', 1)[-1][:-4]}]({p})" for p in plots]
    if recipe_yaml:
        lines += ["", "## Recipe", "", "The fully resolved recipe as run (`recipe.yaml`):", "", "```yaml",
                  recipe_yaml.rstrip(), "```"]
    return "\n".join(lines) + "\n"
