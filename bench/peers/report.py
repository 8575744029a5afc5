"""Turns bench/peers' results.json into a Markdown table and a PNG plot.

  report.py RESULTS_JSON[,RESULTS_JSON...] VERSIONS_TXT[,...] OUT_MD OUT_PNG

Several results files (invocations of run.sh on the same workload) are combined: a later
file's phase of a system replaces an earlier one's.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fmt(v, spec="{:,.0f}"):
    return "—" if v is None else spec.format(v)


def cpu(t):
    if not t:
        return "—"
    return "%.1f / %.1f / %.1f" % (t["cpu_s"], t["postgres_cpu_s"], t["kafka_cpu_s"])


def exact(k):
    if not k:
        return "—"
    c = k["check"]
    word = "yes" if c["exact"] else "**no**"
    return "%s: %d rows, %d duplicates, %d missing, %d wrong balances (%d starts)%s" % (
        word, c["rows"], c["duplicates"], c["missing"], c["wrong_balances"], k["starts"],
        "" if k["done"] else ", stopped: no more progress")


def main():
    res_path, versions_path, out_md, out_png = sys.argv[1:5]
    res = None
    for path in res_path.split(","):
        with open(path) as f:
            r = json.load(f)
        if res is None:
            res = r
            continue
        for name, phases in r["systems"].items():
            res["systems"].setdefault(name, {}).update(phases)
    texts = []
    for path in versions_path.split(","):
        with open(path) as f:
            texts.append(f.read().strip())
    versions = "\n--- then ---\n".join(texts)
    rows = ["| system | records/s (processing) | records/s (wall, with start-up) | CPU-s system / "
            "PostgreSQL / broker | exact after kill -9s | latency p50 / p99 ms at rate |",
            "|---|---|---|---|---|---|"]
    names, tput, p50, p99 = [], [], [], []
    for name, r in res["systems"].items():
        t, k, lat = r.get("throughput"), r.get("kills"), r.get("latency")
        lat_s = "—"
        if lat and "error" not in lat:
            lat_s = "%s / %s (%d of %d visible)" % (fmt(lat["p50_ms"]), fmt(lat["p99_ms"]),
                                                   lat["visible"], lat["records"])
        elif lat:
            lat_s = lat["error"]
        ok = t and t["done"]
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            name, fmt(t["processing_rps"]) if ok else "—", fmt(t["wall_rps"]) if ok else "—",
            cpu(t), exact(k), lat_s))
        names.append(name)
        tput.append(t["processing_rps"] if ok and t["processing_rps"] else 0)
        good = lat and "error" not in lat
        p50.append(lat["p50_ms"] if good else 0)
        p99.append(lat["p99_ms"] if good else 0)
    with open(out_md, "w") as f:
        f.write("# bench/peers results (%s records, %s accounts)\n\n```\n%s\n```\n\n%s\n" % (
            res["records"], res["accounts"], versions, "\n".join(rows)))
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    a.barh(names, tput, color="tab:blue")
    a.set_xlabel("records/s (processing time; higher is better)")
    a.set_title("throughput, %s-record backlog" % f"{res['records']:,}")
    y = range(len(names))
    b.barh([i + 0.2 for i in y], p50, height=0.4, label="p50", color="tab:green")
    b.barh([i - 0.2 for i in y], p99, height=0.4, label="p99", color="tab:red")
    b.set_yticks(list(y))
    b.set_yticklabels(names)
    b.set_xscale("symlog", linthresh=10)
    b.set_xlabel("visibility latency, ms (lower is better; 0 = not measured)")
    b.set_title("latency at a fixed rate")
    b.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)


if __name__ == "__main__":
    main()
