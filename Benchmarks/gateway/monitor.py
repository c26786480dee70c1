#!/usr/bin/env python3
"""Helpers of Benchmarks/gateway-vs-nginx.sh.

sample        once a second: the emulator's call counts (GET /_emulator/stats) and the gateway's gauges
              (GET /metrics), one JSON line per sample, until a stop file appears or a time limit.
wait-drained  waits until the emulator has received a number of user requests, progress stalls, or a
              time limit passes (the forward queue drained, or will not soon).
rates         forwarded/s during the submission run and while the backlog drains, from the samples.
wrk           turns wrk's output into JSON (req/s, p50, p99 in µs, counts, errors).
table         prints the summary table from the result files.
fsync-probe   fdatasync latency of the folder's disk (the store's commits wait for one each).
"""
import argparse
import json
import os
import re
import ssl
import statistics
import sys
import time
import urllib.request


def fetch(url, headers=None, context=None, timeout=2.0):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
        return response.read()


def prometheus(text):
    """{'name' or 'name{labels}': value} for every sample line."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            values[key] = float(value)
        except ValueError:
            pass
    return values


def take_sample(args, context):
    sample = {"t": time.time()}
    try:
        stats = json.loads(fetch(args.emulator + "/_emulator/stats",
                                 {"Authorization": "Bearer " + args.admin_token}, context))
        calls = stats.get("calls", {})
        sample["userrequests"] = calls.get("POST /userrequests", 0)
        sample["token"] = calls.get("POST /token", 0)
        sample["runGets"] = calls.get("GET /workflowruns/{workflowRunId}", 0)
        sample["duplicates"] = len(stats.get("duplicateUserRequests", []))
    except Exception as error:  # a slow answer under load is a missing sample, not a failure
        sample["emulatorError"] = str(error)
    try:
        metrics = prometheus(fetch(args.gateway + "/metrics").decode())
        sample["queueDepth"] = metrics.get("gateway_forward_queue_depth")
        sample["inFlight"] = metrics.get("gateway_forwarder_in_flight")
        sample["tokenFetches"] = metrics.get("gateway_token_fetches")
        sample["pollerRefreshes"] = metrics.get("gateway_poller_refreshes")
        sample["statuses"] = {
            re.search(r'status="([^"]+)"', key).group(1): value
            for key, value in metrics.items() if key.startswith("gateway_requests{")
        }
    except Exception as error:
        sample["gatewayError"] = str(error)
    return sample


def command_sample(args):
    context = ssl.create_default_context(cafile=args.ca)
    deadline = time.monotonic() + args.max_seconds
    with open(args.out, "a") as out:
        while time.monotonic() < deadline and not os.path.exists(args.stop_file):
            started = time.monotonic()
            out.write(json.dumps(take_sample(args, context)) + "\n")
            out.flush()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def read_samples(path):
    samples = []
    with open(path) as lines:
        for line in lines:
            try:
                samples.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # the last line may be half written
    return [s for s in samples if "userrequests" in s]


def command_wait_drained(args):
    started = time.monotonic()
    best, best_at = -1, time.monotonic()
    while True:
        samples = read_samples(args.samples)
        received = samples[-1]["userrequests"] if samples else 0
        if received >= args.target:
            print("drained")
            return
        if received > best:
            best, best_at = received, time.monotonic()
        if time.monotonic() - best_at > args.stall:
            print(f"stalled at {received} of {args.target}")
            return
        if time.monotonic() - started > args.timeout:
            print(f"timed out at {received} of {args.target}")
            return
        time.sleep(0.5)


def count_at(samples, when):
    """The emulator's user-request count at `when`, interpolated between samples."""
    before = [s for s in samples if s["t"] <= when]
    after = [s for s in samples if s["t"] >= when]
    if not before:
        return samples[0]["userrequests"]
    if not after:
        return samples[-1]["userrequests"]
    a, b = before[-1], after[0]
    if b["t"] == a["t"]:
        return a["userrequests"]
    return a["userrequests"] + (b["userrequests"] - a["userrequests"]) * (when - a["t"]) / (b["t"] - a["t"])


def command_rates(args):
    samples = read_samples(args.samples)
    result = {}
    if len(samples) < 2:
        print(json.dumps(result))
        return
    start, end = args.submit_start, args.submit_end
    base = count_at(samples, start)
    result["forwardedDuringSubmit"] = count_at(samples, end) - base
    result["forwardedPerSecondDuringSubmit"] = result["forwardedDuringSubmit"] / (end - start)
    # After the submissions stopped: per-second rates while the backlog was still being sent. The first
    # interval after the end and the last one (the queue ran dry within it) are partial, so left out.
    drain = [s for s in samples if s["t"] >= end]
    steps = []
    for a, b in zip(drain, drain[1:]):
        if b["userrequests"] >= args.target:
            break
        steps.append((b["userrequests"] - a["userrequests"]) / (b["t"] - a["t"]))
    steps = steps[1:]
    if steps:
        result["drainPerSecondMedian"] = statistics.median(steps)
        result["drainPerSecondMax"] = max(steps)
        result["drainPerSecondMin"] = min(steps)
        result["drainSeconds"] = len(steps)
    done = next((s for s in samples if s["userrequests"] >= args.target), None)
    if done:
        result["allForwardedSecondsAfterSubmitEnd"] = done["t"] - end
        result["forwardedPerSecondOverall"] = (done["userrequests"] - base) / (done["t"] - start)
    depths = [s["queueDepth"] for s in samples if s.get("queueDepth") is not None]
    if depths:
        result["maxQueueDepth"] = max(depths)
    last = samples[-1]
    result["emulatorUserRequests"] = last["userrequests"]
    result["emulatorTokenCalls"] = last["token"]
    result["emulatorRunGets"] = last.get("runGets", 0)
    result["emulatorDuplicateBodies"] = last.get("duplicates", 0)
    gateway = [s for s in samples if s.get("tokenFetches") is not None]
    if gateway:
        result["gatewayTokenFetches"] = gateway[-1]["tokenFetches"]
        result["lastQueueDepth"] = gateway[-1]["queueDepth"]
        result["lastStatuses"] = gateway[-1].get("statuses", {})
    print(json.dumps(result))


def to_microseconds(text):
    for unit, factor in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    raise ValueError(f"unknown latency unit in {text!r}")


def command_wrk(args):
    text = sys.stdin.read()
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    result["requests"] = int(re.search(r"(\d+) requests in", text).group(1))
    for name, key in (("50%", "p50us"), ("99%", "p99us")):
        match = re.search(rf"^\s+{re.escape(name)}\s+(\S+)", text, re.MULTILINE)
        result[key] = to_microseconds(match.group(1)) if match else None
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    result["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: (.*)", text)
    result["socketErrors"] = errors.group(1).strip() if errors else ""
    result["ok"] = result["requests"] - result["non2xx"]
    print(json.dumps(result))


def command_table(args):
    def load(name):
        with open(os.path.join(args.dir, name)) as file:
            return json.load(file)

    meta = load("meta.json")

    def fmt(value, digits=0):
        if value is None:
            return "n/a"
        return f"{value:,.{digits}f}"

    def verdict(ok):
        return "met" if ok else "MISSED"

    def ran(name):
        return os.path.exists(os.path.join(args.dir, name))

    rows = []
    for conns in meta["connections"]:
        if not ran(f"get-{conns}-gateway.json"):
            continue
        g, n = load(f"get-{conns}-gateway.json"), load(f"get-{conns}-nginx.json")
        ratio = g["rps"] / n["rps"]
        p99 = g["p99us"] / n["p99us"]
        rows.append((f"GET /v1/requests/{{id}} c={conns} req/s", fmt(g["rps"]), f"nginx {fmt(n['rps'])}",
                     f"{ratio:.2f}x", ">= 0.5x", verdict(ratio >= 0.5)))
        rows.append((f"GET /v1/requests/{{id}} c={conns} p50 / p99", f"{fmt(g['p50us'])} / {fmt(g['p99us'])} us",
                     f"nginx {fmt(n['p50us'])} / {fmt(n['p99us'])} us", f"p99 {p99:.2f}x", "p99 <= 2x",
                     verdict(p99 <= 2)))
    for name, label in (("demo", "demo emulator"), ("no-workflow", "no-workflow emulator")):
        if not ran(f"submit-{name}.json"):
            continue
        s, f = load(f"submit-{name}.json"), load(f"forward-{name}.json")
        with open(os.path.join(args.dir, f"stored-{name}")) as file:
            stored = int(file.read()) - 1  # less the seeded request
        accepted = s["ok"] / meta["seconds"]
        rows.append((f"[{label}] durable submissions/s (wait=0, c={meta['submitConnections']})", fmt(accepted),
                     f"p50 {fmt(s['p50us'])} us, p99 {fmt(s['p99us'])} us", "", ">= 10,000/s",
                     verdict(accepted >= 10000)))
        rows.append(("  2xx answers / stored rows (sqlite3)", f"{s['ok']:,} / {stored:,}",
                     f"non-2xx {s['non2xx']}, socket errors: {s['socketErrors'] or 'none'}", "",
                     "rows >= 2xx", verdict(stored >= s["ok"])))
        steady = f.get("drainPerSecondMedian")
        rows.append((f"[{label}] forwarded/s, backlog draining (median)", fmt(steady),
                     f"min {fmt(f.get('drainPerSecondMin'))}, max {fmt(f.get('drainPerSecondMax'))} over "
                     f"{f.get('drainSeconds', 0)} s", "", ">= 5,000/s", verdict((steady or 0) >= 5000)))
        rows.append(("  forward queue depth (gateway_forward_queue_depth)", fmt(f.get("maxQueueDepth")),
                     f"at most; left {fmt(f.get('lastQueueDepth'))}", "", "", ""))
        if name == "demo":
            tokens = f.get("emulatorTokenCalls")
            rows.append(("token requests over the run (emulator POST /token)", fmt(tokens),
                         f"gateway_token_fetches {fmt(f.get('gatewayTokenFetches'))}; run {meta['runSeconds']:.0f} s, "
                         f"token lifetime {meta['tokenLifetime'] or 'n/a'} s", "", "exactly 1", verdict(tokens == 1)))
    for name in ("demo", "no-workflow"):
        if not ran(f"alone-{name}.json"):
            continue
        a = load(f"alone-{name}.json")
        rows.append((f"{name} emulator alone: POST /userrequests/s (c=32)", fmt(a["rps"]),
                     f"p99 {fmt(a['p99us'])} us, non-2xx {a['non2xx']}", "", "", ""))
    header = ("measurement", "value", "detail", "ratio", "goal", "")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(6)]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def command_fsync_probe(args):
    path = os.path.join(args.dir, "fsync-probe")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    latencies = []
    try:
        for index in range(args.count):
            os.pwrite(descriptor, b"x" * 16384, (index % 64) * 16384)
            started = time.perf_counter()
            os.fdatasync(descriptor)
            latencies.append((time.perf_counter() - started) * 1e3)
    finally:
        os.close(descriptor)
        os.unlink(path)
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"fdatasync of 16 KiB: p50 {pick(0.5):.2f} ms, p90 {pick(0.9):.2f} ms, p99 {pick(0.99):.2f} ms")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample")
    sample.add_argument("--emulator", required=True)
    sample.add_argument("--ca", required=True)
    sample.add_argument("--admin-token", required=True)
    sample.add_argument("--gateway", required=True)
    sample.add_argument("--out", required=True)
    sample.add_argument("--stop-file", required=True)
    sample.add_argument("--max-seconds", type=float, default=900)
    wait = commands.add_parser("wait-drained")
    wait.add_argument("--samples", required=True)
    wait.add_argument("--target", type=int, required=True)
    wait.add_argument("--timeout", type=float, required=True)
    wait.add_argument("--stall", type=float, default=15)
    rates = commands.add_parser("rates")
    rates.add_argument("--samples", required=True)
    rates.add_argument("--submit-start", type=float, required=True)
    rates.add_argument("--submit-end", type=float, required=True)
    rates.add_argument("--target", type=int, required=True)
    commands.add_parser("wrk")
    table = commands.add_parser("table")
    table.add_argument("--dir", required=True, help="the folder of result files the script wrote")
    probe = commands.add_parser("fsync-probe")
    probe.add_argument("--dir", required=True)
    probe.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    {"sample": command_sample, "wait-drained": command_wait_drained, "rates": command_rates,
     "wrk": command_wrk, "table": command_table,
     "fsync-probe": command_fsync_probe}[args.command](args)


if __name__ == "__main__":
    main()
