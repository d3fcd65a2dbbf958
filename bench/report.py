"""Writes docs/benchmarks.md and the throughput chart from the results that
bench/run.sh collected in its work directory. Run by bench/run.sh with the
bench venv's python (it has matplotlib):

    python bench/report.py --work DIR --doc docs/benchmarks.md --png docs/benchmarks-throughput.png
"""

import argparse
import json
import os
import statistics

SERVERS = {
    "go": "Go action server",
    "sdk-default": "rasa-sdk, default workers",
    "sdk-percore": "rasa-sdk, 1 worker/core",
}
BODIES = {
    "validate_50": "validate_card_block_form, 50-event tracker",
    "validate_2000": "validate_card_block_form, 2,000-event tracker",
    "verify_50": "action_verify_last4, 57-event tracker",
}


def jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def cpu_per_1k(r):
    if not r.get("requests"):
        return None
    return r["server_cpu_s"] / r["requests"] * 1000


def loadgen_per_1k(r, meta):
    """The load generator's CPU per 1k requests, approximately: /usr/bin/time
    covers its whole run (warm-up too), scaled to the measured window."""
    if not r.get("requests") or r.get("loadgen_cpu_s") is None:
        return None
    d, w = float(meta["duration"]), float(meta["warmup"])
    if r["section"] == "scaling":
        d, w = float(meta["scale_duration"]), float(meta["scale_warmup"])
    return r["loadgen_cpu_s"] * d / (d + w) / r["requests"] * 1000


def mib(kib):
    return None if kib is None else kib / 1024


def rounds(results, server, body, enc, c, section="load"):
    return [r for r in results
            if (r["server"], r["body"], r["enc"], r["concurrency"], r["section"]) == (server, body, enc, c, section)]


def find(results, server, body, enc, c, section="load"):
    """The case's best round (highest req/s); a failed one if all failed."""
    rs = rounds(results, server, body, enc, c, section)
    ok = [r for r in rs if "rps" in r]
    if ok:
        return max(ok, key=lambda r: r["rps"])
    return rs[0] if rs else None


def chart(results, concurrencies, png, meta):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), sharey=True, dpi=120)
    colours = {"go": "#00758f", "sdk-default": "#e07b00", "sdk-percore": "#b5121b"}
    markers = {"go": "o", "sdk-default": "s", "sdk-percore": "^"}
    top = 0
    for ax, enc in zip(axes, ["plain", "deflate"]):
        # Labels: the highest point's above, the lowest's below, the middle one's to the right.
        place = {}
        for c in concurrencies:
            vals = sorted(((r["rps"], s) for s in SERVERS
                           for r in [find(results, s, "validate_50", enc, c)] if r and "rps" in r), reverse=True)
            for i, (_, s) in enumerate(vals):
                place[(s, c)] = ((0, 11), "center") if i == 0 else ((0, -11), "center") if i == len(vals) - 1 \
                    else ((9, 0), "left")
        for server, label in SERVERS.items():
            pts = [(c, find(results, server, "validate_50", enc, c)) for c in concurrencies]
            pts = [(c, r["rps"]) for c, r in pts if r and "rps" in r]
            if not pts:
                continue
            xs, ys = zip(*pts)
            top = max(top, *ys)
            ax.plot(xs, ys, marker=markers[server], color=colours[server], label=label, linewidth=2)
            for x, y in pts:
                xy, ha = place[(server, x)]
                ax.annotate(f"{y:,.0f}", (x, y), textcoords="offset points", xytext=xy, ha=ha, va="center",
                            fontsize=8, color=colours[server],
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
        ax.set_xscale("log", base=2)
        ax.set_xticks(concurrencies)
        ax.set_xticklabels([str(c) for c in concurrencies])
        ax.set_xlim(min(concurrencies) / 1.6, max(concurrencies) * 1.6)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_xlabel("concurrent connections")
        ax.set_title(f"50-event tracker, {'plain JSON' if enc == 'plain' else 'deflate-compressed'}")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylim(0, top * 1.15 if top else 1)
    axes[0].set_ylabel("requests/s")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 0.04))
    fig.suptitle(f"validate_card_block_form throughput — {meta['nproc']} cores shared with the load generator",
                 fontsize=11)
    fig.text(0.5, 0.01, f"{meta['date']} · {meta['cpu']} · load average {meta['load_start']} at the start, "
             f"{meta.get('load_end', '?')} at the end of the run", ha="center", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.09, 1, 0.95))
    fig.savefig(png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--png", required=True)
    a = ap.parse_args()
    w = a.work

    with open(os.path.join(w, "meta2.json"), encoding="utf-8") as f:
        meta = json.load(f)
    results = jsonl(os.path.join(w, "results.jsonl"))
    startup = jsonl(os.path.join(w, "startup.jsonl"))
    loads = jsonl(os.path.join(w, "loads.jsonl"))
    block = jsonl(os.path.join(w, "block.json"))
    block = block[0] if block else None
    with open(os.path.join(w, "parity.txt"), encoding="utf-8") as f:
        parity = f.read().rstrip()
    sizes = {}
    with open(os.path.join(w, "bodies.tsv"), encoding="utf-8") as f:
        for line in f:
            name, events, size = line.split()
            sizes[name.removesuffix(".json")] = (int(events), int(size))
    concurrencies = [int(c) for c in meta["concurrency"].split()]
    repeats = int(meta.get("repeats", "1"))
    hwm_reset = not os.path.exists(os.path.join(w, "hwm-not-reset"))

    chart(results, concurrencies, a.png, meta)

    st = {}
    for s in SERVERS:
        v = [r["startup_ms"] for r in startup if r["server"] == s]
        if v:
            st[s] = (statistics.median(v), min(v), max(v), len(v))

    out = []
    p = out.append
    run_min = meta["run_s"] / 60
    p("# Benchmarks: the Go action server against rasa-sdk")
    p("")
    p("*This file and `docs/benchmarks-throughput.png` are written by `make bench` (`bench/run.sh`); "
      "edit the script, not the file.*")
    p("")
    p(f"The Go custom-action server (`cmd/actionserver`, embedded demo bank) and the official Python action "
      f"server, rasa-sdk {meta['sdk']} (Sanic {meta['sanic']}), serve the same two actions — "
      f"`validate_card_block_form` and `action_verify_last4` — on the same in-memory demo bank, and are sent "
      f"the same Rasa 3.6 requests by the same load generator. The rasa-sdk side is a port of our actions "
      f"(`bench/rasa_sdk/`, a `FormValidationAction` subclass and an `Action`), checked reply-for-reply "
      f"against ours below. Run of {meta['date']}, "
      f"{'a QUICK smoke run (short windows: indicative only), ' if meta['quick'] == '1' else ''}"
      f"took {run_min:.1f} minutes. **The machine was shared with other jobs**: load average "
      f"{meta['load_start']} at the start and {meta['load_end']} at the end (1, 5, 15 min); each case "
      f"also records how busy the whole machine was.")
    p("")

    # ---- headline ----
    p("## Headline: 50-event tracker, plain JSON, 16 connections")
    p("")
    if 16 not in concurrencies:
        p("*This run did not include 16 connections (CONCURRENCY).*")
        p("")
    g = find(results, "go", "validate_50", "plain", 16)
    d = find(results, "sdk-default", "validate_50", "plain", 16)
    c = find(results, "sdk-percore", "validate_50", "plain", 16)
    p("| server | req/s | p50 ms | p99 ms | p99.9 ms | CPU s / 1k req | peak RSS MiB | start-up ms (median) |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, r in (("go", g), ("sdk-default", d), ("sdk-percore", c)):
        if r and "rps" in r:
            p(f"| {SERVERS[key]} | {fmt(r['rps'], 0)} | {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | "
              f"{fmt(r['p999_ms'], 2)} | {fmt(cpu_per_1k(r), 3)} | {fmt(mib(r['peak_rss_kib']))} | "
              f"{fmt(st.get(key, (None,))[0], 0)} |")
    p("")
    if g and d and c and "rps" in g and "rps" in d and "rps" in c:
        rd, rc = g["rps"] / d["rps"], g["rps"] / c["rps"]
        p(f"Throughput ratio: **{rd:.1f}×** rasa-sdk with its default single worker, **{rc:.1f}×** rasa-sdk "
          f"with one worker per core ({meta['sdk_workers_per_core']}). CPU per request, the measure the other jobs "
          f"on the machine disturb least: rasa-sdk needs **{cpu_per_1k(d) / cpu_per_1k(g):.1f}×** (default workers) "
          f"and **{cpu_per_1k(c) / cpu_per_1k(g):.1f}×** (1 worker/core) the CPU of the Go server per request.")
        p("")
        p("| aim | measured | |")
        p("|---|---|---|")
        ok = lambda b: "met" if b else "**missed**"
        p(f"| ≥ 10× rasa-sdk (default workers) at c=16, 50 events | {rd:.1f}× (vs 1 worker/core: {rc:.1f}×) | {ok(rd >= 10)} |")
        p(f"| our p99 < 5 ms there | {g['p99_ms']:.2f} ms | {ok(g['p99_ms'] < 5)} |")
        p(f"| < 50 MiB RSS at c=16 on that tracker | {mib(g['peak_rss_kib']):.1f} MiB peak | {ok(mib(g['peak_rss_kib']) < 50)} |")
        if "go" in st:
            p(f"| start-up < 100 ms | {st['go'][0]:.1f} ms median of {st['go'][3]} | {ok(st['go'][0] < 100)} |")
        p("")
    p("![Throughput against concurrency, 50-event tracker](benchmarks-throughput.png)")
    p("")

    # ---- machine ----
    p("## Machine and versions")
    p("")
    p(f"- {meta['nproc']} cores: {meta['cpu']}; {meta['mem']} of memory; {meta['kernel']}")
    p(f"- Go: {meta['go']} (server built as `make build`: `CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'`)")
    p(f"- Python: {meta['python']}; rasa-sdk {meta['sdk']}, Sanic {meta['sanic']}, uvloop {meta['uvloop']} "
      f"(pinned in `bench/rasa_sdk/requirements.txt`)")
    p(f"- PostgreSQL: {meta['postgres']}")
    p(f"- Commit {meta['commit']}{' with uncommitted changes in the work tree' if meta['dirty'] == 'yes' else ''}")
    p(f"- Load average (1, 5, 15 min): {meta['load_start']} at the start, {meta['load_end']} at the end; per section:")
    for l in loads:
        p(f"  - {l['server']} {l['at']}: {l['load']}")
    p("")

    # ---- commands ----
    p("## Commands")
    p("")
    p("```sh")
    p("make bench        # = bash bench/run.sh; QUICK=1 make bench for a smoke run")
    p(f"DURATION={meta['duration']} WARMUP={meta['warmup']} CONCURRENCY=\"{meta['concurrency']}\" "
      f"SCALE_DURATION={meta['scale_duration']} STARTUP_RUNS={meta['startup_runs']} REPEATS={meta.get('repeats', '1')} "
      f"BLOCKS={meta['blocks']} BLOCK_BANK={meta['block_bank']} bash bench/run.sh   # this run's settings")
    p("")
    p("# the servers: all three run side by side; each case is measured on one while the others idle")
    p("ACTIONS_ADDR=127.0.0.1:$PORT LOG_LEVEL=warn bin/actionserver")
    p("cd bench/rasa_sdk && SANIC_HOST=127.0.0.1 $VENV/bin/python -m rasa_sdk --actions actions -p $PORT")
    p(f"cd bench/rasa_sdk && ACTION_SERVER_SANIC_WORKERS={meta['sdk_workers_per_core']} SANIC_HOST=127.0.0.1 "
      f"$VENV/bin/python -m rasa_sdk --actions actions -p $PORT")
    p("")
    p("# each case")
    p(f"loadgen -mode fixed -body validate_50.json [-deflate] -c C -duration {meta['duration']}s "
      f"-warmup {meta['warmup']}s http://127.0.0.1:$PORT")
    p("startup -url http://127.0.0.1:$PORT/health -- SERVER...   # start-up, 1 ms polling")
    p(f"PG_DURABLE=1 N={meta['block_bank']} BLOCKS={meta['blocks']} C={meta['block_c']} "
      f"bash scripts/with-postgres.sh bash bench/block.sh")
    p("```")
    p("")
    p("`$VENV` is `${BENCH_CACHE:-$HOME/.cache/sctbnk-bench}/sdk-venv-<hash of requirements.txt>`; "
      "the bodies come from `go run ./bench/gen -out DIR`.")
    p("")

    # ---- fidelity ----
    p("## Same work on both sides")
    p("")
    p("`bench/rasa_sdk/parity.py` runs every golden request of the two actions "
      "(`actions/testdata/golden/oss36`, from our flow tests) through rasa-sdk's `ActionExecutor` and posts "
      "every benchmark body to both live servers, comparing events (kind, name, value) and responses "
      "(name, variables):")
    p("")
    p("```")
    p(parity)
    p("```")
    p("")
    p("The one expected difference: the port reads written DNI/NIE only, not spelled ones "
      "(\"uno dos … ocho zeta\"); no benchmark body contains one. The spoken last-four normaliser is a "
      "full port (it agrees with ours on all 123 transcripts of `spoken/digits_test.go`).")
    p("")

    # ---- start-up ----
    p("## Start-up: exec to the first healthy `/health`")
    p("")
    p("| server | median ms | min ms | max ms | runs |")
    p("|---|---:|---:|---:|---:|")
    for s, (med, lo, hi, n) in st.items():
        p(f"| {SERVERS[s]} | {med:.1f} | {lo:.1f} | {hi:.1f} | {n} |")
    p("")

    # ---- load ----
    p(f"## Throughput, latency, CPU and memory ({meta['duration']} s per case after {meta['warmup']} s of warm-up)")
    p("")
    if repeats > 1:
        p(f"Each case ran {repeats} rounds; the tables (and the headline and chart) show the round with the "
          f"highest req/s — the least disturbed by other jobs — and list every round's req/s.")
        p("")
    p("CPU s / 1k req: the server's user+system CPU (all its processes) per 1,000 requests. Peak RSS: VmHWM, "
      "reset before each case, summed over the server's processes. Machine busy: all CPU in use on the machine "
      "during the case, in cores (server + load generator + everything else running). CPU pressure: the share of the "
      "window in which some runnable task was waiting for a CPU (Linux PSI, `/proc/pressure/cpu`). It counts "
      "the benchmark's own queueing too: when server and load generator together need more than the "
      f"{meta['nproc']} cores (the Go server at c ≥ 16, rasa-sdk with a worker per core) it is high even on a "
      "quiet machine; for a single-worker rasa-sdk case (at most one busy core of its own plus the load "
      "generator) a high value means other jobs were competing. Loadgen CPU: the load "
      "generator's own CPU per 1,000 requests (approximate: measured over its whole run, warm-up included, "
      "and scaled to the window) — on these shared cores it is CPU the server cannot have.")
    for body in BODIES:
        for enc in ("plain", "deflate"):
            rows = [r for r in results if r["section"] == "load" and r["body"] == body and r["enc"] == enc]
            if not rows:
                continue
            ev, size = sizes[body]
            p("")
            zip_note = ""
            if enc == "deflate" and rows and rows[0].get("body_bytes"):
                zip_note = f", {rows[0]['body_bytes'] / 1024:,.1f} KiB deflated"
            p(f"### {BODIES[body]} ({ev:,} events, {size / 1024:,.1f} KiB{zip_note}), {enc}")
            p("")
            extra = " req/s, every round |" if repeats > 1 else ""
            p("| server | c | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU s / 1k req | loadgen CPU s / 1k req | "
              "peak RSS MiB | processes | machine busy (cores) | CPU pressure % |" + extra)
            p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---|" if repeats > 1 else ""))
            for s in SERVERS:
                for cc in concurrencies:
                    r = find(results, s, body, enc, cc)
                    if not r:
                        continue
                    if "rps" not in r:
                        p(f"| {SERVERS[s]} | {cc} | failed: {r.get('failed', '')[:80]} |||||||||||")
                        continue
                    p(f"| {SERVERS[s]} | {cc} | {fmt(r['rps'], 0)} | {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | "
                      f"{fmt(r['p999_ms'], 2)} | {r['errors']} | {fmt(cpu_per_1k(r), 3)} | ≈{fmt(loadgen_per_1k(r, meta), 3)} | "
                      f"{fmt(mib(r['peak_rss_kib']))} | {r['server_processes']} | {fmt(r['machine_busy_cores'], 2)} | "
                      f"{fmt(r.get('cpu_pressure_pct'), 0)} |" +
                      (" " + " / ".join(f"{x['rps']:,.0f}" if "rps" in x else "failed"
                                        for x in rounds(results, s, body, enc, cc)) + " |" if repeats > 1 else ""))
    p("")

    # ---- scaling ----
    p(f"## Payload scaling: validate_card_block_form at concurrency 1 ({meta['scale_duration']} s per size)")
    p("")
    p("Time per request is the mean (1 / req/s) over the window, p50 beside it; MB/s is request bytes "
      "(10⁶) the server took in per second, i.e. decoded, at concurrency 1.")
    p("")
    p("| events | body KiB | Go ms/req (p50) | Go MB/s | rasa-sdk ms/req (p50) | rasa-sdk MB/s | rasa-sdk / Go |")
    p("|---:|---:|---:|---:|---:|---:|---:|")
    ns = sorted({int(r["body"].split("_")[1]) for r in results if r["section"] == "scaling"})
    for n in ns:
        body = f"validate_{n}"
        ev, size = sizes[body]
        gr = find(results, "go", body, "plain", 1, "scaling")
        sr = find(results, "sdk-default", body, "plain", 1, "scaling")

        def cell(r):
            if not r or not r.get("rps"):
                return "–", "–", None
            ms = 1000 / r["rps"]
            return f"{ms:.3f} ({r['p50_ms']:.2f})", f"{size * r['rps'] / 1e6:,.1f}", ms

        gms, gmb, gx = cell(gr)
        sms, smb, sx = cell(sr)
        ratio = f"{sx / gx:.1f}×" if gx and sx else "–"
        p(f"| {ev:,} | {size / 1024:,.1f} | {gms} | {gmb} | {sms} | {smb} | {ratio} |")
    p("")

    # ---- block ----
    p("## action_block_card against PostgreSQL (durable: fsync and synchronous commit on)")
    p("")
    if not block:
        p("Not run (SKIP_BLOCK=1).")
    elif "failed" in block:
        p(f"Failed: `{block['failed']}`")
    else:
        p(f"`bench/block.sh` under `scripts/with-postgres.sh` with `PG_DURABLE=1`: a generated bank of "
          f"{block['bank']:,} customers ({block.get('import') or 'import time not reported'}), then "
          f"{block['blocks']:,} different cards verified (not measured) and blocked at concurrency "
          f"{block['concurrency']}; only the blocks are timed. Our server only: the rasa-sdk peer has no "
          f"PostgreSQL store.")
        p("")
        p("| blocks/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | server CPU s / 1k calls | server peak RSS MiB |")
        p("|---:|---:|---:|---:|---:|---:|---:|---:|")
        cpu = block.get("server_cpu_s")
        cpu1k = f"{cpu / (2 * block['requests']) * 1000:.3f}" if cpu and block.get("requests") else "–"
        p(f"| {block['rps']:,.0f} | {block['p50_ms']:.2f} | {block['p99_ms']:.2f} | {block['p999_ms']:.2f} | "
          f"{block['max_ms']:.2f} | {block['errors']} | {cpu1k} | {fmt(mib(block.get('peak_rss_kib')))} |")
        p("")
        p("The CPU column covers both phases (a verification and a block per card, so 2 calls per card) "
          "and is sampled every 0.2 s from outside `block.sh`; PostgreSQL's own CPU is not included.")
    p("")

    # ---- method ----
    p("## Method and caveats")
    p("")
    p(f"- **Shared cores.** The load generator (`bench/loadgen`, Go) runs on the same {meta['nproc']} cores as "
      "the server it measures, and other engineers' jobs were running on the machine (load averages above; "
      "the *machine busy* column). Absolute numbers are therefore lower than on a quiet or larger machine, "
      "and the servers compete with the load generator for CPU: a server that needs less CPU per request "
      "leaves more for the load generator. Ratios between servers measured minutes apart are more robust "
      "than absolute numbers, but not immune to the load changing in between.")
    p("- **Interleaved.** The three servers run side by side on 127.0.0.1 (idle when not measured; started "
      "afresh for each request body) and every "
      "case runs on each of them in turn, the order rotating from case to case, so that the other jobs on the "
      "machine weigh on all three alike rather than on whichever server was being measured when they ran. Cases "
      "run in the order of the tables (plain, then deflate; concurrency rising), keep-alive connections, one "
      "identical body per case. Latency is measured by the load generator from request start to the end of the "
      "reply, so it includes the load generator's own scheduling delays.")
    p(f"- **Rounds.** REPEATS={repeats}: " + ("each case ran once." if repeats == 1 else
      f"each case ran {repeats} times (consecutively, servers rotating); the best round is reported, as the "
      f"estimate least disturbed by the other jobs; every round's req/s is listed."))
    p("- **CPU per request is the steadier measure** on a shared machine: throughput and tail latency depend on "
      "how much CPU the other jobs leave, CPU seconds per request much less.")
    p(f"- **Requests** are what Rasa 3.6.21 sends: `bench/gen` writes the bodies as Python's `json.dumps` does "
      f"(separators `, ` and `: `, non-ASCII as `\\uXXXX`, keys in Rasa's order), byte-identical to "
      f"`json.dumps(json.loads(body))`. The domain is the trimmed one of our tests. Deflate bodies are "
      f"zlib-compressed once by the load generator, as Rasa does with `COMPRESS_ACTION_SERVER_REQUEST=True`; "
      f"rasa-sdk {meta['sdk']} decompresses `Content-Encoding: deflate` in its `/webhook` handler "
      f"(`rasa_sdk/endpoint.py`), checked here by every deflate case returning 200s.")
    p(f"- **rasa-sdk** runs as documented: `python -m rasa_sdk --actions actions -p PORT`, default logging. "
      f"Its default is one Sanic worker (`ACTION_SERVER_SANIC_WORKERS` unset); Sanic then runs a main process "
      f"plus the worker (and multiprocessing helpers), all counted for CPU and memory. The bodies carry "
      f"`version: 3.6.21`, so rasa-sdk warns once that the versions differ (a Python warning, shown once).")
    p("- **CPU** is utime+stime from `/proc/<pid>/stat` of every process in the server's process group, "
      "read when the warm-up ends and when the load generator exits, divided by the requests measured in "
      "that window.")
    p("- **Peak RSS** is `VmHWM` from `/proc/<pid>/status`" +
      (", reset before each case by writing 5 to `/proc/<pid>/clear_refs`" if hwm_reset else
       " (it could not be reset, so it is the peak since the server started)") +
      ", summed over the server's processes; for the spawned Sanic processes this counts the interpreter's "
      "shared pages once per process. The servers are restarted for each request body, but within a body a "
      "reset only brings the peak down to the memory the process holds at that moment, so what a server kept "
      "from the body's previous case (Python rarely returns memory; Go returns it gradually) still counts.")
    p("- **Start-up** is from `exec` to the first 200 from `/health`, polled every millisecond by "
      "`bench/startup`; the Go binary is the built one, not `go run`.")
    p("- **Scaling** bodies differ only in how many earlier turns the tracker holds; the Go server reads "
      "only the trailing slot events, rasa-sdk decodes the whole body into Python objects.")
    p("")
    with open(a.doc, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
