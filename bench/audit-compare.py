#!/usr/bin/env python3
"""Print per-rule counts of rampart, Spectral (OWASP) and vacuum (OWASP) side by side.

Usage: audit-compare.py SPEC_NAME WORK_DIR  (called by audit-compare.sh)
WORK_DIR holds rampart.json, spectral.json, vacuum.json, rules.json and NAME.stat files.
"""
import collections
import json
import sys
from pathlib import Path


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def main():
    name, work = sys.argv[1], Path(sys.argv[2])
    rules = load(work / "rules.json") or []
    ours = collections.Counter()
    r = load(work / "rampart.json")
    if r:
        for spec in r["specs"]:
            ours.update(f["rule"] for f in spec["findings"])
    spectral = collections.Counter()
    s = load(work / "spectral.json")
    if isinstance(s, list):
        spectral.update(d["code"] for d in s)
    vacuum = collections.Counter()
    v = load(work / "vacuum.json")
    if v:
        vacuum.update(x["ruleId"] for x in (v.get("resultSet") or {}).get("results") or [])

    rows = []
    mapped_s, mapped_v = set(), set()
    for rule in rules:
        sp = sum(spectral[i] for i in rule["spectral"])
        va = sum(vacuum[i] for i in rule["vacuum"])
        mapped_s.update(rule["spectral"])
        mapped_v.update(rule["vacuum"])
        others = ", ".join(rule["spectral"] + rule["vacuum"]) or "(rampart only)"
        rows.append((rule["id"], ours[rule["id"]], sp if rule["spectral"] else "-",
                     va if rule["vacuum"] else "-", others))
    for code, n in sorted(spectral.items()):
        if code not in mapped_s:
            rows.append(("", "-", n, "-", f"{code} (unmapped)"))
    for code, n in sorted(vacuum.items()):
        if code not in mapped_v:
            rows.append(("", "-", "-", n, f"{code} (unmapped)"))

    def stat(tool):
        try:
            wall, rss = (work / f"{tool}.stat").read_text().split()
            return wall, rss
        except (OSError, ValueError):
            return "?", "?"

    print(f"\n== {name}")
    print(f"{'rampart rule':<46} {'rampart':>8} {'spectral':>9} {'vacuum':>8}  covers")
    for rid, a, b, c, cov in rows:
        print(f"{rid:<46} {a!s:>8} {b!s:>9} {c!s:>8}  {cov}")
    total = lambda c: sum(c.values())  # noqa: E731
    print(f"{'total':<46} {total(ours):>8} {total(spectral):>9} {total(vacuum):>8}")
    times = {t: stat(t) for t in ("rampart", "spectral", "vacuum")}
    print("wall time: " + "  ".join(f"{t} {w}s ({m} MB)" for t, (w, m) in times.items()))
    try:
        ratio = float(times["vacuum"][0]) / max(float(times["rampart"][0]), 0.005)
        print(f"rampart is {ratio:.0f}x faster than vacuum")
    except ValueError:
        pass


if __name__ == "__main__":
    main()
