"""Synthetic build inputs with the shape of the real graph, at any scale.

``python -m bench.synth OUT --scale 100`` writes an inputs folder (guides.toml,
sources/, corrections.toml, translations.tsv, long-translations.tsv, vocabulary tables)
with ``scale`` guides, spread over twelve provinces and their batches (yunnan-b1, sichuan-b1,
..., yunnan-b2, ...). Each synthetic guide is the real batch-1 document, titled
for its province and batch, with its 23 rows in a different (seeded) order and
renumbered, every row naming its domain, and the
real corrections and long-text translations remapped to the new row numbers — so the grammar, the
corrections and the translations are exercised exactly as on the real data, and
the graph has ``scale`` times the real scenarios, categories and fields.
Build it with ``DIPKG_INPUTS_DIR=OUT dipkg build --out DATA``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tomllib
from pathlib import Path

from kg.paths import INPUTS_DIR

REAL = "guizhou-dip-scenarios-batch1.txt"


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    blocks = text.split("\n\n")
    first = next(i for i, b in enumerate(blocks) if b.startswith("\t1\n"))
    head = blocks[:first]
    rows = [b.split("\n") for b in blocks[first:] if b.strip()]
    return head, rows


# Provinces the synthetic guides are spread over (Guizhou's batch 1 is the real one).
PROVINCES = [
    ("yunnan", "云南省", "Yunnan Province"),
    ("sichuan", "四川省", "Sichuan Province"),
    ("guangxi", "广西壮族自治区", "Guangxi Zhuang Autonomous Region"),
    ("hunan", "湖南省", "Hunan Province"),
    ("chongqing", "重庆市", "Chongqing Municipality"),
    ("zhejiang", "浙江省", "Zhejiang Province"),
    ("jiangsu", "江苏省", "Jiangsu Province"),
    ("guangdong", "广东省", "Guangdong Province"),
    ("shandong", "山东省", "Shandong Province"),
    ("beijing", "北京市", "Beijing Municipality"),
    ("shanghai", "上海市", "Shanghai Municipality"),
    ("hubei", "湖北省", "Hubei Province"),
]
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 as written in batch titles: 一, 十, 十二, 二十, 二十三."""
    if not 0 < n < 100:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    text = ("" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")) + (
        _DIGITS[ones] if ones else ""
    )
    return text


def guide_of(index: int) -> tuple[str, str, str, int]:
    """(id, province_zh, province_en, batch) of the index-th synthetic guide (from 1): provinces in
    turn."""
    slug, zh, en = PROVINCES[(index - 1) % len(PROVINCES)]
    batch = (index - 1) // len(PROVINCES) + 1
    return f"{slug}-b{batch}", zh, en, batch


def generate(out: Path, scale: int, seed: int = 20261124) -> Path:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(
        INPUTS_DIR, out, ignore=shutil.ignore_patterns("sources", "guides.toml", "corrections.toml")
    )
    (out / "sources").mkdir()
    config = tomllib.loads((INPUTS_DIR / "guides.toml").read_text(encoding="utf-8"))
    real = config["guide"][0]
    corrections = tomllib.loads((INPUTS_DIR / "corrections.toml").read_text(encoding="utf-8"))[
        "correction"
    ]
    head, rows = _rows((INPUTS_DIR / "sources" / REAL).read_text(encoding="utf-8"))
    domain = ""
    for row in rows:  # every row names its domain, so any order keeps it
        if row[1].strip():
            domain = row[1]
        else:
            row[1] = domain
    long_head, *long_rows = (
        (INPUTS_DIR / "long-translations.tsv").read_text(encoding="utf-8").splitlines()
    )
    long_out = [long_head]
    rng = random.Random(seed)
    guides = ["[domains]"] + [f'{k} = "{v}"' for k, v in config["domains"].items()]
    fixes: list[str] = []
    for index in range(1, scale + 1):
        guide_id, province_zh, province_en, batch = guide_of(index)
        title_zh = f"第{chinese_number(batch)}批{province_zh}数据知识产权应用场景指引"
        order = list(range(len(rows)))
        rng.shuffle(order)
        renumber = {int(rows[old][0].strip()): new for new, old in enumerate(order, start=1)}
        body = []
        for new, old in enumerate(order, start=1):
            row = list(rows[old])
            row[0] = f"\t{new}"
            body.append("\n".join(row))
        own_head = [title_zh if block.strip() == real["title_zh"] else block for block in head]
        (out / "sources" / f"{guide_id}.txt").write_text(
            "\n\n".join([*own_head, *body]) + "\n", encoding="utf-8"
        )
        guides += [
            "",
            "[[guide]]",
            f'id = "{guide_id}"',
            f'source = "sources/{guide_id}.txt"',
            f'title_zh = "{title_zh}"',
            'title_en = "Guidance on data intellectual property application scenarios in '
            f"{province_en} "
            f'(batch {batch}; synthetic copy of Guizhou batch 1)"',
            f'province_zh = "{province_zh}"',
            f'province_en = "{province_en}"',
            f"batch = {batch}",
        ]
        real_id = real["id"]
        for row in long_rows:  # each copied row keeps its English under its new identifier
            sid, rest = row.split("\t", 1)
            long_out.append(
                f"{guide_id}-s{renumber[int(sid.removeprefix(real_id + '-s'))]:02d}\t{rest}"
            )
        for fix in corrections:
            fixes += [
                "",
                "[[correction]]",
                f'guide = "{guide_id}"',
                f"number = {renumber[fix['number']]}",
            ]
            for key in ("match", "reason", "qualifier", "example", "text"):
                if key in fix:
                    fixes.append(f"{key} = {_toml(fix[key])}")
            if "items" in fix:
                fixes.append("items = [" + ", ".join(_toml(i) for i in fix["items"]) + "]")
    (out / "guides.toml").write_text("\n".join(guides) + "\n", encoding="utf-8")
    (out / "corrections.toml").write_text("\n".join(fixes).lstrip() + "\n", encoding="utf-8")
    (out / "long-translations.tsv").write_text("\n".join(long_out) + "\n", encoding="utf-8")
    return out


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--scale", type=int, default=100, help="number of synthetic guides (1 = the real size)"
    )
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    generate(args.out, args.scale, args.seed)
    print(f"wrote {args.scale} synthetic guides to {args.out}")


if __name__ == "__main__":
    main()
