"""A deterministic corpus of valid articles shaped like the seeds, for benchmarks.

    python benchmarks/generate.py OUT --files 30000 [--seed 1] [--plain-yaml DIR]

Each file is about 2.8 KB of front matter like `examples/`: quoted titles and
excerpts, long AMP URLs, a provider, topics, images, and one to three related
articles with their own images. Some text is non-ASCII, some timestamps have
offsets or fractions, and one file in five has a body. The same seed always
gives the same bytes. `--plain-yaml DIR` also writes each front matter alone
as DIR/.../NAME.yaml, for tools that cannot read front matter (check-jsonschema).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

FILES_PER_FOLDER = 1000
_WORDS = (  # noqa: SIM905 (a sentence is easier to edit than a list)
    "police government market energy cricket budget climate court election health school water city "
    "minister report record digital power price bank project launch growth river summit trade festival "
    "Karachi Lahore Zürich São Paulo Ōsaka Kraków café naïve Москва 北京 کراچی"
).split()
_TOPICS = ("AI", "Computer Vision", "Economy", "Sports", "Politics", "Climate", "Health", "Technology", "Éducation")
_SITES = ("propakistani.pk", "example.org", "news.example.com", "dawn.example.net", "tribune.example.pk")
_OFFSETS = ("Z", "Z", "Z", "+05:00", "-04:00", "+00:00")


def _text(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(_WORDS) for _ in range(words)]
    return " ".join(chosen).capitalize()


def _timestamp(rng: random.Random) -> str:
    fraction = f".{rng.randrange(1000):03d}" if rng.random() < 0.1 else ""
    return (
        f"20{rng.randrange(15, 26):02d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        f"T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}{fraction}{rng.choice(_OFFSETS)}"
    )


def _slug(rng: random.Random, number: int) -> str:
    return "-".join(rng.choice(_WORDS[:29]).lower() for _ in range(6)) + f"-{number}"


def _amp_query(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    return "?fbclid=" + "".join(rng.choice(alphabet) for _ in range(64))


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _images(rng: random.Random, site: str, indent: str, count: int) -> list[str]:
    lines = []
    for _ in range(count):
        lines += [
            f'{indent}- url: "https://{site}/wp-content/uploads/20{rng.randrange(15, 26)}/{rng.randrange(1, 13):02d}/'
            f'{_slug(rng, rng.randrange(10**6))}.jpg"',
            f"{indent}  width: {rng.choice((640, 800, 1000, 1200))}",
            f"{indent}  height: {rng.choice((360, 450, 560, 675))}",
            f"{indent}  isCached: {rng.choice(('true', 'false'))}",
        ]
    return lines


def _related(rng: random.Random, number: int) -> list[str]:
    site = rng.choice(_SITES)
    url = f"https://{site}/{_slug(rng, number)}/"
    lines = [
        f"  - title: {_quoted(_text(rng, 8))}",
        f"    excerpt: {_quoted(_text(rng, 22))}",
        f"    publishedDateTime: {_timestamp(rng)}",
        f'    webUrl: "{url}"',
        f'    ampWebUrl: "{url}amp/{_amp_query(rng)}"',
        "    type: article",
        "    provider:",
        f"      name: {site.split('.')[0].capitalize()}",
        f"      domain: {site}",
        f"    quality: {rng.randrange(101)}",
    ]
    images = rng.randrange(3)
    if images:
        lines += ["    images:", *_images(rng, site, "      ", images)]
    return lines


def article(number: int, seed: int) -> str:
    """Article `number` of the corpus for `seed`: the same text every time."""
    rng = random.Random(f"{seed}:{number}")
    site = rng.choice(_SITES)
    url = f"https://{site}/{_slug(rng, number)}/"
    lines = [
        "---",
        f"category: {rng.choice(('news', 'sports', 'business', 'technology'))}",
        f"title: {_quoted(_text(rng, 9))}",
        f"excerpt: {_quoted(_text(rng, 24))}",
        f"publishedDateTime: {_timestamp(rng)}",
        f'originalUrl: "{url}"',
        f'webUrl: "{url}"',
        f'ampWebUrl: "{url}amp/"',
        f'cdnAmpWebUrl: "https://{site.replace(".", "-")}.cdn.ampproject.org/c/s/{site}/{url.split("/", 3)[3]}amp/"',
        "type: article",
        f"quality: {rng.randrange(101)}",
        f"heat: {rng.choice((-1, rng.randrange(10**5)))}",
        f"published: {rng.choice(('true', 'false'))}",
        "",
        "provider:",
        f"  name: {site.split('.')[0].capitalize()}",
        f"  domain: {site}",
        "",
        "topics:",
        *(f"  - {rng.choice(_TOPICS)}" for _ in range(rng.randrange(1, 4))),
        "",
        "images:",
        *_images(rng, site, "  ", rng.randrange(1, 3)),
        "",
        "related:",
        *(line for _ in range(rng.randrange(1, 4)) for line in _related(rng, number)),
        "---",
    ]
    if rng.random() < 0.2:
        lines += ["", *(_text(rng, 30) + "." for _ in range(rng.randrange(1, 4)))]
    return "\n".join(lines) + "\n"


def front_matter(text: str) -> str:
    """The YAML between the two `---` lines."""
    return text.split("---\n", 2)[1]


def generate(out: Path, files: int, seed: int = 1, plain_yaml: Path | None = None) -> None:
    for number in range(files):
        relative = Path(f"{number // FILES_PER_FOLDER:04d}") / f"{number:07d}.md"
        text = article(number, seed)
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text, encoding="utf-8")
        if plain_yaml is not None:
            target = (plain_yaml / relative).with_suffix(".yaml")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(front_matter(text), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the corpus to")
    parser.add_argument("--files", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plain-yaml", type=Path, help="also write each front matter alone under this folder")
    arguments = parser.parse_args()
    generate(arguments.out, arguments.files, arguments.seed, arguments.plain_yaml)


if __name__ == "__main__":
    main()
