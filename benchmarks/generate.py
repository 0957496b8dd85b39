"""Deterministic synthetic AWS accounts for benchmarks: `plan(seed, size)` decides everything, `apply` builds it.

The plan is pure (same seed and size, same plan); only the ids AWS (moto) assigns differ between builds. `size` is a
target count of resources; the manifest gives the exact count per kind. Writes go through simaws in phase "setup",
so they carry no latency and never count as scan traffic.

  python benchmarks/generate.py --endpoint http://127.0.0.1:5077 --size 1000 --seed 7
"""
from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from typing import Any

from builder import Builder

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
REGION_SHARE = (0.5, 0.3, 0.2)
# Fraction of `size` per kind; derived kinds (access keys, MFA devices, SG rules, root volumes) come on top of these
# through the per-item choices, which is why their own weights are small.
WEIGHTS = {
    "user": 0.05, "group": 0.01, "policy": 0.04, "role": 0.05, "bucket": 0.04,
    "security_group": 0.05, "instance": 0.06, "volume": 0.04, "kms_key": 0.03, "function": 0.03,
    "queue": 0.05, "topic": 0.03, "log_group": 0.04, "secret": 0.02, "table": 0.02,
}
SCALE = 1.21  # the derived kinds add ~21%: with it, manifest()["total"] is close to `size`
REGIONAL = {"security_group", "instance", "volume", "kms_key", "function", "queue", "topic", "log_group", "secret",
            "table"}

Item = dict[str, Any]


def plan(seed: int, size: int, regions: tuple[str, ...] = REGIONS) -> dict[str, list[Item]]:
    rng = random.Random(f"{seed}:{size}")
    shares = REGION_SHARE[: len(regions)] if len(regions) <= len(REGION_SHARE) else [1 / len(regions)] * len(regions)
    items: dict[str, list[Item]] = {k: [] for k in WEIGHTS}
    items.update(trail=[], region_setting=[])
    counts = {k: max(1, round(size * w * SCALE)) for k, w in WEIGHTS.items()}
    for n in range(counts["group"]):
        items["group"].append({"name": f"group-{n:04d}", "policies": []})
    for n in range(counts["policy"]):
        items["policy"].append({"name": f"policy-{n:04d}",
                                "kind": rng.choices(["narrow", "service", "admin", "sts"], [6, 2, 1, 1])[0]})
    for g in items["group"]:
        g["policies"] = sorted({rng.randrange(counts["policy"]) for _ in range(rng.randint(1, 2))})
    for n in range(counts["user"]):
        console = rng.random() < 0.5
        items["user"].append({
            "name": f"user-{n:05d}", "console": console, "mfa": console and rng.random() < 0.7,
            "keys": rng.choices([0, 1, 2], [3, 6, 1])[0], "groups": sorted({rng.randrange(counts["group"])
                                                                              for _ in range(rng.randint(0, 2))}),
            "attached": [rng.randrange(counts["policy"])] if rng.random() < 0.2 else [],
            "inline": rng.random() < 0.1, "service_tag": not console and rng.random() < 0.5})
    for n in range(counts["role"]):
        items["role"].append({"name": f"role-{n:04d}", "policies": [rng.randrange(counts["policy"])],
                              "trust": rng.choices(["ec2", "lambda", "cross", "cross-mfa"], [4, 3, 2, 1])[0]})
    items["role"][0].update(name="lambda-exec", trust="lambda")
    for n in range(counts["bucket"]):
        items["bucket"].append({"name": f"bench-{seed}-bucket-{n:04d}", "region": rng.choices(regions, shares)[0],
                                "versioning": rng.random() < 0.5, "kms": rng.random() < 0.4,
                                "block_public": rng.random() < 0.7, "tls_policy": rng.random() < 0.5,
                                "public_read": rng.random() < 0.05})
    for kind in sorted(REGIONAL):
        for n in range(counts[kind]):
            item: Item = {"name": f"{kind.replace('_', '-')}-{n:04d}", "region": rng.choices(regions, shares)[0]}
            item.update(_regional_choices(kind, rng))
            items[kind].append(item)
    trail_bucket = items["bucket"][0]
    trail_bucket.update(region=regions[0], block_public=True)
    items["trail"].append({"name": "org-trail", "region": regions[0], "bucket": trail_bucket["name"],
                           "multi_region": True, "validation": rng.random() < 0.7})
    for r in regions:
        items["region_setting"].append({"region": r, "ebs_default_encryption": rng.random() < 0.5,
                                        "guardduty": rng.random() < 0.6, "securityhub": rng.random() < 0.4})
    return items


def _regional_choices(kind: str, rng: random.Random) -> Item:
    if kind == "security_group":
        ports = rng.sample([22, 80, 443, 3389, 445, 5432, 8080], rng.randint(1, 3))
        return {"rules": [{"port": p, "cidr": rng.choice(["0.0.0.0/0", "10.0.0.0/8", "192.168.1.0/24"]),
                           "ipv6": rng.random() < 0.1} for p in sorted(ports)]}
    if kind == "instance":
        return {"imdsv2": rng.random() < 0.6, "public_ip": rng.random() < 0.3}
    if kind == "volume":
        return {"encrypted": rng.random() < 0.6, "snapshots": rng.choices([0, 1, 2], [5, 4, 1])[0],
                "public_snapshot": rng.random() < 0.05}
    if kind == "kms_key":
        return {"rotation": rng.random() < 0.6, "alias": rng.random() < 0.7}
    if kind == "function":
        return {"secret_env": rng.random() < 0.1}
    if kind in ("queue", "topic", "log_group"):
        return {"encrypted": rng.random() < 0.5}
    return {}


def manifest(p: dict[str, list[Item]]) -> dict[str, int]:
    """Resources per kind, counting what one item brings along (keys, MFA devices, rules, root volumes, snapshots)."""
    c: Counter[str] = Counter({k: len(v) for k, v in p.items() if k != "region_setting"})
    c["access_key"] = sum(u["keys"] for u in p["user"])
    c["mfa_device"] = sum(u["mfa"] for u in p["user"])
    c["security_group_rule"] = sum(len(s["rules"]) for s in p["security_group"])
    c["root_volume"] = len(p["instance"])
    c["snapshot"] = sum(v["snapshots"] for v in p["volume"])
    c["kms_alias"] = sum(k["alias"] for k in p["kms_key"])
    out = dict(sorted(c.items()))
    out["total"] = sum(c.values())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="Build a synthetic account on a simaws/moto endpoint.")
    ap.add_argument("--endpoint", help="simaws URL (phase must be 'setup'); omit with --plan-only")
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--regions", default=",".join(REGIONS))
    ap.add_argument("--plan-only", action="store_true", help="print the plan's manifest, build nothing")
    args = ap.parse_args()
    p = plan(args.seed, args.size, tuple(args.regions.split(",")))
    if not args.plan_only:
        if not args.endpoint:
            ap.error("--endpoint is required unless --plan-only")
        Builder(args.endpoint).build(p)
    print(json.dumps(manifest(p), indent=1))


if __name__ == "__main__":
    main()
