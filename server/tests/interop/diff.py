#!/usr/bin/env python3
"""Differential test: run scenarios.py against Apache ZooKeeper and against
another server, print what differs, exit 1 if anything does.

    diff.py --other 127.0.0.43:2181            # Apache (started here) vs other
    diff.py --self-check                       # Apache vs a second Apache
    diff.py --reference H:P --other H:P        # two servers already running

Options: --only NAMES (comma-separated), --keep DIR (keep both JSON files),
--serial (run the two suites one after the other instead of side by side).

The Apache reference is started with scripts/zk.sh on a free port of
127.0.0.41 (the second one of --self-check on 127.0.0.42), with
-Dznode.container.checkIntervalMs=1000 so that container and TTL nodes are
reaped within the scenarios' bounded wait; it is stopped on exit.
Exit status: 0 same, 1 different, 2 harness or startup failure.
"""
import argparse
import difflib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ZK_SH = os.path.join(ROOT, "scripts", "zk.sh")
SCENARIOS = os.path.join(HERE, "scenarios.py")
BASE_JVM_OPTS = "-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
# the container manager's period; Apache's default (60 s) is longer than
# the scenarios wait
REAP_OPTS = "-Dznode.container.checkIntervalMs=1000"
SUITE_TIMEOUT = 600  # seconds for one scenarios.py run


def log(msg):
    print(f"[diff] {msg}", file=sys.stderr, flush=True)


def free_port(addr):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


class Apache:
    """One standalone Apache ZooKeeper under a temporary directory."""

    def __init__(self, addr, workdir):
        self.addr = addr
        self.dir = os.path.join(workdir, f"zk-{addr}")
        self.port = None
        self.started = False

    def start(self):
        env = dict(os.environ)
        env["ZK_JVM_OPTS"] = f"{env.get('ZK_JVM_OPTS', BASE_JVM_OPTS)} {REAP_OPTS}"
        for attempt in range(3):  # the free port may be taken in between
            self.port = free_port(self.addr)
            res = subprocess.run([ZK_SH, "standalone", self.dir, "--addr", self.addr,
                                  "--port", str(self.port)], env=env, timeout=120,
                                 capture_output=True, text=True)
            self.started = True
            if res.returncode == 0:
                log(f"Apache ZooKeeper up on {self.hosts}")
                return
            self.stop()
            log(f"start attempt {attempt + 1} failed:\n{res.stderr.strip()}")
        raise RuntimeError(f"could not start Apache ZooKeeper on {self.addr}")

    @property
    def hosts(self):
        return f"{self.addr}:{self.port}"

    def stop(self):
        if self.started:
            subprocess.run([ZK_SH, "stop", self.dir], timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False


def launch_suite(hosts, out, only):
    cmd = [sys.executable, SCENARIOS, "--hosts", hosts, "--json", out]
    if only:
        cmd += ["--only", only]
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)


def finish_suite(proc, name):
    try:
        _, err = proc.communicate(timeout=SUITE_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        log(f"{name}: scenarios.py timed out")
        return False
    for line in err.splitlines():
        print(f"  {name}| {line}", file=sys.stderr)
    if proc.returncode != 0:
        log(f"{name}: scenarios.py exited {proc.returncode}")
        return False
    return True


def obs_lines(obs):
    return [f"{lab}: {json.dumps(val, sort_keys=True, separators=(',', ':'))}"
            for lab, val in obs]


def drop_allowed(obs, allowed, name):
    """Observations of scenario `name` without the labels allowed to differ."""
    if obs is None:
        return None
    return [[lab, val] for lab, val in obs if f"{name}:{lab}" not in allowed]


def compare(ref, other, ref_name, other_name, allowed=()):
    """Print a diff per differing scenario; return how many differ.

    `allowed` holds "scenario:label" pairs known to differ on purpose (a
    behaviour newer than the reference's release); they are reported, not
    counted."""
    differing = 0
    for name in sorted(set(ref) | set(other)):
        a, b = ref.get(name), other.get(name)
        if a != b and drop_allowed(a, allowed, name) == drop_allowed(b, allowed, name):
            print(f"=== {name}: differs only where allowed ({', '.join(sorted(allowed))})")
            continue
        if a == b:
            continue
        differing += 1
        print(f"=== {name}: DIFFERS")
        if a is None or b is None:
            print(f"    only in {ref_name if b is None else other_name}")
            continue
        for line in difflib.unified_diff(obs_lines(a), obs_lines(b), ref_name, other_name,
                                         lineterm="", n=1):
            print("    " + line)
    same = len(set(ref) | set(other)) - differing
    print(f"--- {same} scenario(s) identical, {differing} differ")
    return differing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--other", help="host:port of the server compared with Apache")
    ap.add_argument("--reference", help="host:port of an already running reference server")
    ap.add_argument("--self-check", action="store_true",
                    help="compare two fresh Apache instances (normalisation check)")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--keep", help="directory to keep reference.json and other.json in")
    ap.add_argument("--serial", action="store_true", help="do not run the two suites at once")
    ap.add_argument("--allow", action="append", default=[], metavar="SCENARIO:LABEL",
                    help="an observation allowed to differ (repeatable)")
    args = ap.parse_args()
    if bool(args.other) == bool(args.self_check):
        ap.error("give exactly one of --other or --self-check")

    # a TERM must still run the finally below that stops the servers
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    work = tempfile.mkdtemp(prefix="zk-interop-")
    servers = []
    t0 = time.monotonic()
    try:
        if args.reference:
            ref_hosts = args.reference
        else:
            ref = Apache("127.0.0.41", work)
            servers.append(ref)
            ref.start()
            ref_hosts = ref.hosts
        if args.self_check:
            second = Apache("127.0.0.42", work)
            servers.append(second)
            second.start()
            other_hosts = second.hosts
        else:
            other_hosts = args.other
        out_dir = args.keep or work
        os.makedirs(out_dir, exist_ok=True)
        ref_json = os.path.join(out_dir, "reference.json")
        other_json = os.path.join(out_dir, "other.json")
        log(f"reference {ref_hosts}, other {other_hosts}")
        p1 = launch_suite(ref_hosts, ref_json, args.only)
        if args.serial:
            ok1 = finish_suite(p1, "reference")
            p2 = launch_suite(other_hosts, other_json, args.only)
        else:
            p2 = launch_suite(other_hosts, other_json, args.only)
            ok1 = finish_suite(p1, "reference")
        ok2 = finish_suite(p2, "other")
        if not (ok1 and ok2):
            return 2
        with open(ref_json) as f:
            ref_obs = json.load(f)
        with open(other_json) as f:
            other_obs = json.load(f)
        differing = compare(ref_obs, other_obs, f"reference({ref_hosts})", f"other({other_hosts})",
                            set(args.allow))
        log(f"done in {time.monotonic() - t0:.1f}s")
        return 1 if differing else 0
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(f"error: {e}")
        return 2
    finally:
        for s in servers:
            s.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept JSON in {args.keep}; ZooKeeper dirs were in {work}")


if __name__ == "__main__":
    sys.exit(main())
