#!/usr/bin/env python3
"""Regenerate .ci/rasa/requirements.txt (full lock) for Rasa OSS on CPython 3.11.

Rasa 3.6.21 declares Requires-Python <3.11 and guards numpy/scipy/scikit-learn/
dask with `python_version < "3.11"` markers, so a plain pip install on 3.11
silently drops them.  This script:

  1. downloads the rasa and rasa-sdk wheels (no deps) from PyPI,
  2. reads their Requires-Dist from METADATA and evaluates the markers as if
     on Python 3.10 (no extras),
  3. applies OVERRIDES (ranges that have no cp311 wheel),
  4. installs rasa + rasa-sdk with --no-deps, then resolves the rebuilt list
     with constraints.txt into a throw-away venv (wheels only, except SDIST_OK),
  5. writes `pip freeze --all` (minus pip) with the sha256 of every file pip
     used (from `pip install --report`) to requirements.txt.

Usage:  python3 .ci/rasa/lock.py      (CPython 3.11; ~2 min; needs PyPI and cc)
"""
import email.parser
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
except ImportError:  # pip always vendors packaging
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = ["rasa==3.6.21", "rasa-sdk==3.6.2"]
# rasa pins matplotlib<3.6, which has no cp311 wheel; 3.7.x is API-compatible
# for rasa's plotting helpers (only used by `rasa test`).
OVERRIDES = {"matplotlib": ">=3.7,<3.8"}
# Pinned versions that exist only as sdists.  multidict 5.2.0 (sanic 21.12
# needs <6) has a C extension with no cp311 wheel: it is compiled (needs cc).
SDIST_OK = ["docopt", "mattermostwrapper", "multidict", "randomname"]
BINARY_FLAGS = ["--only-binary=:all:", "--no-binary=" + ",".join(SDIST_OK)]
# --ignore-requires-python is ONLY for rasa/rasa-sdk (installed --no-deps):
# during resolution it would let pip pick deps that need Python >=3.12.
TOP_FLAGS = ["--ignore-requires-python", "--no-deps"]


def run(*cmd):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def requires(wheel, env):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(zf.read(name).decode())
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            yield req


def report_hashes(path):
    """name -> 'sha256:...' from a pip --report file."""
    with open(path) as f:
        rep = json.load(f)
    out = {}
    for item in rep["install"]:
        info = item["download_info"]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        out[canonicalize_name(item["metadata"]["name"])] = (
            item["metadata"]["version"], sha and "sha256:" + sha)
    return out


def main():
    if sys.version_info[:2] != (3, 11):
        sys.exit("run lock.py with CPython 3.11 (the lock is for cp311 wheels)")
    env = default_environment()
    env.update(python_version="3.10", python_full_version="3.10.13", extra="")
    with tempfile.TemporaryDirectory(prefix="rasa-lock-") as tmp:
        dl = os.path.join(tmp, "dl")
        run(sys.executable, "-m", "pip", "download", "-q", *TOP_FLAGS,
            *BINARY_FLAGS, "-d", dl, *TOP)
        wheels = sorted(os.path.join(dl, w) for w in os.listdir(dl))
        top = {canonicalize_name(Requirement(t).name) for t in TOP}
        merged = {}  # name -> Requirement (specifiers intersected)
        for whl in wheels:
            for req in requires(whl, env):
                key = canonicalize_name(req.name)
                if key in top:
                    continue
                if key in OVERRIDES:
                    req.specifier = SpecifierSet(OVERRIDES[key])
                req.marker = None
                if key in merged:
                    merged[key].specifier &= req.specifier
                    merged[key].extras |= req.extras
                else:
                    merged[key] = req
        reqs_in = os.path.join(tmp, "requirements.in")
        with open(reqs_in, "w") as f:
            f.writelines(f"{merged[k]}\n" for k in sorted(merged))
        print(open(reqs_in).read(), flush=True)

        venv = os.path.join(tmp, "venv")
        run(sys.executable, "-m", "venv", venv)
        py = os.path.join(venv, "bin", "python")
        pip = [py, "-m", "pip", "install", "--no-input", *BINARY_FLAGS]
        report = os.path.join(tmp, "report.json")
        run(*pip, *TOP_FLAGS, *wheels)
        run(*pip, "--report", report, "-c", os.path.join(HERE, "constraints.txt"),
            "-r", reqs_in)
        hashes = report_hashes(report)
        # rasa/rasa-sdk were installed from local files: hash the PyPI wheels.
        for whl in wheels:
            name, ver = os.path.basename(whl).split("-")[:2]
            with open(whl, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            hashes[canonicalize_name(name)] = (ver, "sha256:" + sha)
        # Informational: shows the ranges we knowingly break (python, matplotlib).
        subprocess.run([py, "-m", "pip", "check"])
        frozen = subprocess.run([py, "-m", "pip", "freeze", "--all"], check=True,
                                capture_output=True, text=True).stdout.splitlines()

    pins = {}
    for line in frozen:
        # rasa/rasa-sdk freeze as "name @ file:///...": version from the wheel
        name, sep, ver = line.partition("==")
        if not sep:
            name, ver = line.split(" @ ")[0], None
        key = canonicalize_name(name)
        if key == "pip":
            continue
        hver, sha = hashes[key]
        assert sha and ver in (None, hver), (line, hashes[key])
        pins[key] = f"{name}=={hver} \\\n    --hash={sha}"
    lines = [pins[k] for k in sorted(pins)]
    pyver = ".".join(map(str, sys.version_info[:3]))
    out = os.path.join(HERE, "requirements.txt")
    with open(out, "w") as f:
        f.write(f"# GENERATED by .ci/rasa/lock.py on CPython {pyver} linux x86_64;"
                " do not edit by hand.\n# Full lock of the rasa venv, installed by"
                " install.sh with --no-deps --require-hashes.\n")
        f.writelines(flag + "\n" for flag in BINARY_FLAGS)
        f.writelines(l + "\n" for l in lines)
    print(f"wrote {out} ({len(lines)} packages)")


if __name__ == "__main__":
    main()
