#!/usr/bin/env python3
"""Parses a Prometheus text exposition with the reference parser (prometheus_client, from PyPI)
and prints its families as JSON for the C++ test that checks their values.

Usage: metrics_to_json.py FILE. Exits non-zero, with the parser's error, when the text is not a
valid exposition, or when a metric family appears twice (its # HELP / # TYPE repeated)."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    families = []
    seen = set()
    for family in text_string_to_metric_families(text):
        if family.name in seen:
            sys.exit(f"metric family {family.name} appears twice")
        seen.add(family.name)
        samples = []
        for s in family.samples:
            value = s.value
            if math.isinf(value):
                value = "+Inf" if value > 0 else "-Inf"
            samples.append({"name": s.name, "labels": s.labels, "value": value})
        families.append({"name": family.name, "type": family.type,
                         "help": family.documentation, "samples": samples})
    json.dump({"families": families}, sys.stdout)


if __name__ == "__main__":
    main()
