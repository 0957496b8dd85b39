"""Regenerate auditor/data/checklist.json from the requirements catalog.

The package cannot read ../shared at run time, so the catalog's metadata ships as data.
Run:  python tools/gen_checklist.py [../shared/checklist.md]
A test compares the shipped file with a fresh parse when the catalog is present, so drift fails CI.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT.parent / "shared" / "checklist.md"
OUT = ROOT / "auditor" / "data" / "checklist.json"

AUTO_COLUMNS = ("id", "title", "source", "evaluates", "apis", "moto", "prowler", "severity")


def _cells(line: str) -> list[str]:
    # split on unescaped pipes; the catalog escapes literal pipes as \|
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [p.strip().replace("\\|", "|") for p in parts]


def _slug(text: str, words: int = 8) -> str:
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(tokens[:words])


def mappings(source: str) -> dict[str, list[str]]:
    cis = re.findall(r"CIS v7 (\d+(?:\.\d+)*)", source)
    cis_v3 = re.findall(r"CIS v3 (\d+(?:\.\d+)*)", source) + re.findall(r"\(v3 (\d+(?:\.\d+)*)\)", source)
    ssb = [m.replace(" ", "") for m in re.findall(r"SSB ((?:ACCT|WKLD)\.\d+)", source)]
    articles = re.findall(r"source (\d{3})", source)
    return {
        "cis_v7": sorted(set(cis), key=_version_key),
        "cis_v3": sorted(set(cis_v3), key=_version_key),
        "ssb": sorted(set(ssb)),
        "sources": sorted(set(articles)),
        "common_practice": ["yes"] if "common practice" in source else [],
    }


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def parse(text: str) -> dict:
    items: list[dict] = []
    manual: list[dict] = []
    area = ""
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("### 1."):
            area = line[4:].strip()
        elif section.startswith("1.") and line.startswith("| `"):
            cells = _cells(line)
            if len(cells) != len(AUTO_COLUMNS):
                raise SystemExit(f"unexpected row shape: {line[:80]}")
            row = dict(zip(AUTO_COLUMNS, cells, strict=True))
            row["id"] = row["id"].strip("`")
            row["area"] = area
            row["service"] = row["id"].split(".")[0]
            scope = re.match(r"\[([^\]]+)\]", row["evaluates"])
            row["scope"] = scope.group(1) if scope else ""
            row["frameworks"] = mappings(row["source"])
            row["prowler"] = [] if row["prowler"] in ("-", "") else [p.strip() for p in row["prowler"].split(",")]
            items.append(row)
        elif section.startswith("2.") and line.startswith("| ") and not line.startswith("| item") \
                and not line.startswith("|---"):
            cells = _cells(line)
            if len(cells) < 4:
                continue
            title, source, why, attest = cells[:4]
            manual.append({
                "id": "manual." + _slug(title),
                "title": title,
                "source": source,
                "why_manual": why,
                "attestation": attest,
                "frameworks": mappings(source),
            })
    ids = [i["id"] for i in items] + [m["id"] for m in manual]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate ids in catalog: {sorted(dupes)}")
    return {"items": items, "manual": manual}


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    data = parse(src.read_text(encoding="utf-8"))
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(data['items'])} automatable items, {len(data['manual'])} manual items")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
