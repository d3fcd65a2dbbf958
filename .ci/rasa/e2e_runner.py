#!/usr/bin/env python3
"""Run the Rasa Pro end-to-end test files (rasa-project/tests/e2e/*.yml) on a
real Rasa Open Source server, through its HTTP API, against the real Go action
server. Started by .ci/rasa/e2e.sh (which builds the binaries, trains the
model and provides PostgreSQL); run it with the Rasa venv's python.

What it does
  * starts the fake Freshdesk and ONE `rasa run --enable-api` (in-memory
    tracker store, generated endpoints.yml/credentials.yml in --work);
  * for every test case: a new database (CREATE DATABASE), `cardblockctl
    migrate` + `seed` (a fresh demo bank), a new action server on the fixed
    port with that DATABASE_URL; then the conversation; then the server is
    stopped and the database dropped;
  * prints one line per case (PASS/FAIL, and for a failure the turn where
    reality differed), then "N passed, M failed" as the last line; the exit
    status is 1 if a case failed or none ran.

How a test case is replayed (emulating Rasa Pro's `rasa test e2e` runner,
rasa/e2e_test/e2e_test_runner.py):
  * sender id "<test case name>_<datetime.now().isoformat()>": Pro's
    "<name>_<datetime.now()>" with a "T" instead of the space, because Rasa
    3.6's HTTP API (Sanic 21.12) does not percent-decode the conversation id
    of /conversations/<id>/tracker: an id with a space cannot be addressed;
    other characters a URL path cannot carry as they are also become "_";
  * session start: Pro calls processor.fetch_tracker_with_initial_session()
    WITHOUT metadata and does not save that tracker (unless the case has
    fixtures). Our equivalent is GET /conversations/<id>/tracker, which runs
    the same processor code (action_session_start, no metadata) and does not
    save either. Consequently, as under Pro with the in-memory tracker store,
    the first user message finds an empty stored tracker and Rasa runs
    action_session_start AGAIN, this time with that message's metadata (slot
    session_started_metadata). With fixtures, POST /conversations/<id>/
    tracker/events with the fixture SlotSets = Pro's set_up_fixtures (session
    start without metadata + slots, saved), so no second session start.
  * every `user:` step: POST /webhooks/rest/webhook {"sender", "message",
    "metadata": test-case metadata updated with the step's metadata}, then
    GET the tracker; the turn is the events from that user event on. (Pro
    slices with an event counter instead. Counting is not reliable here: the
    in-memory store re-reads only the latest session, which drops the
    SlotSet(session_started_metadata) logged before action_session_start, so
    the history shrinks by one event after the first turn. Pro's first turn
    also holds the events of the session start that the first message
    triggers, e.g. the slots our action_session_start sets from the metadata;
    our first turn keeps them too, unless the case has fixtures.)
  * `utter:` = a bot event whose metadata.utter_action is the name; `bot:` = a
    bot event with exactly that text; `slot_was_set` / `slot_was_not_set`:
    SlotSet events of the turn (name, and value if given, compared with ==).
    utter/bot steps must appear in the listed order (Pro accepts any order
    within the turn; --any-order restores that; a failure caused only by the
    order says so).
  * like Pro's fail-fast, a case stops at the first turn with a mismatch.
  * additionally a case fails when Rasa logged that a custom action failed
    ("Failed to run/execute custom action", "Encountered an exception while
    running action") during it: Rasa then drops the action's events and
    carries on, which a test may not notice.
"""
import argparse
import datetime
import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

import yaml

ACTION_ERROR_RE = re.compile(
    r"Failed to (run|execute) custom action|Encountered an exception while running action"
)
RASA_WARN_RE = re.compile(r"Tried to set non existent slot|Action '.*' returned an invalid", re.I)


def log(msg: str) -> None:
    print(f"[rasa-e2e] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- test files


class LineLoader(yaml.SafeLoader):
    """SafeLoader that records each mapping's line as the key '__line__'."""


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def clean(value: Any) -> Any:
    """Drop the '__line__' keys (for values compared with tracker values)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def named_maps(items: Any, what: str, path: str) -> Dict[str, Any]:
    """[{name: value}, ...] -> {name: value} (Pro's metadata/fixtures lists)."""
    out: Dict[str, Any] = {}
    for item in items or []:
        item = clean(item)
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"{path}: each {what} entry must be a one-key map, got {item!r}")
        out.update(item)
    return out


def load_cases(paths: List[str]) -> List[Dict[str, Any]]:
    files: List[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = glob.glob(os.path.join(p, "**", "*.yml"), recursive=True)
            found += glob.glob(os.path.join(p, "**", "*.yaml"), recursive=True)
            files += sorted(found)
        else:
            files.append(p)
    cases = []
    for path in files:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=LineLoader) or {}
        metadata = named_maps(doc.get("metadata"), "metadata", path)
        fixtures = named_maps(doc.get("fixtures"), "fixture", path)
        for case in doc.get("test_cases") or []:
            cases.append({"file": path, "case": case, "metadata": metadata, "fixtures": fixtures})
    return cases


# ---------------------------------------------------------------- processes


class Proc:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: List[str], logfile: str, env: Dict[str, str],
                 pidfile: Optional[str], cwd: Optional[str] = None):
        self.name, self.logfile = name, logfile
        self.ready_offset = 0
        self.out = open(logfile, "ab")
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, env=env,
                                  cwd=cwd, start_new_session=True)
        if pidfile:  # e2e.sh's trap kills what is listed here if we die badly
            with open(pidfile, "a") as fh:
                fh.write(f"{self.p.pid}\n")

    def alive(self) -> bool:
        return self.p.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait(timeout=10)
        self.out.close()

    def tail(self, n: int = 30) -> str:
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-n:])
        except OSError:
            return ""


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http(method: str, url: str, body: Any = None, timeout: float = 120.0) -> Tuple[int, Any]:
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def wait_until(what: str, check, proc: Optional[Proc], timeout: float, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited (status {proc.p.returncode}) before {what}; "
                               f"last lines of {proc.logfile}:\n{proc.tail()}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.monotonic() > deadline:
            tail = f"; last lines of {proc.logfile}:\n{proc.tail()}" if proc else ""
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(interval)


def db_url(base: str, dbname: str) -> str:
    u = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


def psql(url: str, sql: str) -> str:
    r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed: {r.stderr.strip()}")
    return r.stdout.strip()


# ---------------------------------------------------------------- matching


def describe_step(step: Dict[str, Any]) -> str:
    s = clean(step)
    return yaml.safe_dump(s, allow_unicode=True, default_flow_style=True, width=1000).strip().strip("{}")


def bot_label(e: Dict[str, Any]) -> str:
    name = (e.get("metadata") or {}).get("utter_action") or "-"
    text = (e.get("text") or "").replace("\n", " ")
    if len(text) > 90:
        text = text[:87] + "..."
    return f'{name} "{text}"'


def slot_items(step_value: Any) -> List[Tuple[str, bool, Any]]:
    """slot_was_set value -> [(name, has_value, value)]."""
    items = step_value if isinstance(step_value, list) else [step_value]
    out = []
    for item in items:
        item = clean(item)
        if isinstance(item, str):
            out.append((item, False, None))
        elif isinstance(item, dict):
            for k, v in item.items():
                out.append((k, True, v))
    return out


def slot_matches(ev: Dict[str, Any], name: str, has_value: bool, value: Any) -> bool:
    if ev.get("name") != name:
        return False
    if not has_value:
        return True
    got = ev.get("value")
    if isinstance(value, bool) or isinstance(got, bool):  # True must not equal 1
        return type(value) is type(got) and value == got
    return got == value


def bot_matches(step: Dict[str, Any], ev: Dict[str, Any]) -> bool:
    if "utter" in step:
        return (ev.get("metadata") or {}).get("utter_action") == step["utter"]
    return ev.get("text") == step["bot"]


def check_turn(expect: List[Dict[str, Any]], turn: List[Dict[str, Any]], any_order: bool) -> List[str]:
    """Problems of the steps `expect` against the events `turn` ([] = ok)."""
    bots = [e for e in turn if e.get("event") == "bot"]
    slots = [e for e in turn if e.get("event") == "slot"]
    problems = []
    cursor = 0
    for step in expect:
        line = step.get("__line__", "?")
        if "utter" in step or "bot" in step:
            if any_order:
                if not any(bot_matches(step, e) for e in bots):
                    problems.append(f"expected `{describe_step(step)}` (line {line}): not said in this turn")
                continue
            idx = next((i for i in range(cursor, len(bots)) if bot_matches(step, bots[i])), None)
            if idx is not None:
                cursor = idx + 1
            elif any(bot_matches(step, e) for e in bots):
                problems.append(f"expected `{describe_step(step)}` (line {line}): said, but not in the "
                                f"listed order (Rasa Pro, which ignores the order, would accept it)")
            else:
                problems.append(f"expected `{describe_step(step)}` (line {line}): not said in this turn")
        elif "slot_was_set" in step or "slot_was_not_set" in step:
            negate = "slot_was_not_set" in step
            for name, has_value, value in slot_items(step.get("slot_was_not_set" if negate else "slot_was_set")):
                found = [e for e in slots if slot_matches(e, name, has_value, value)]
                want = f"{name}: {value!r}" if has_value else name
                if negate and found:
                    problems.append(f"expected `slot_was_not_set: {want}` (line {line}): it was set "
                                    f"({', '.join(repr(e.get('value')) for e in found)})")
                elif not negate and not found:
                    same = [e for e in slots if e.get("name") == name]
                    seen = (f"set to {', '.join(repr(e.get('value')) for e in same)} instead"
                            if same else "not set in this turn")
                    problems.append(f"expected `slot_was_set: {want}` (line {line}): {seen}")
        else:
            problems.append(f"unsupported step `{describe_step(step)}` (line {line})")
    return problems


def turn_summary(turn: List[Dict[str, Any]]) -> List[str]:
    user = next((e for e in turn if e.get("event") == "user"), None)
    out = []
    if user:
        intent = (user.get("parse_data") or {}).get("intent") or {}
        conf = intent.get("confidence")
        conf_s = f" {conf:.2f}" if isinstance(conf, (int, float)) else ""
        ents = [f"{e.get('entity')}={e.get('value')!r}" for e in (user.get("parse_data") or {}).get("entities") or []]
        out.append(f"NLU: intent {intent.get('name')}{conf_s}" + (f", entities {', '.join(ents)}" if ents else ""))
    actions = [e.get("name") for e in turn if e.get("event") == "action" and e.get("name") != "action_listen"]
    out.append("actions: " + (", ".join(actions) or "(none)"))
    bots = [bot_label(e) for e in turn if e.get("event") == "bot"]
    out.append("bot said: " + ("; ".join(bots) if bots else "(nothing)"))
    slots = [f"{e.get('name')}={e.get('value')!r}" for e in turn
             if e.get("event") == "slot" and e.get("name") != "session_started_metadata"]
    out.append("slots set: " + (", ".join(slots) or "(none)"))
    return out


# ---------------------------------------------------------------- runner


class Runner:
    def __init__(self, args):
        self.a = args
        self.work = args.work
        self.logs = args.log_dir
        self.pidfile = os.path.join(self.work, "pids")
        self.rasa_url = f"http://127.0.0.1:{args.rasa_port}"
        self.actions_url = f"http://127.0.0.1:{args.actions_port}"
        self.rasa_token = secrets.token_hex(16)
        self.action_token = secrets.token_hex(16)
        self.external_id_key = secrets.token_hex(16)
        self.rasa: Optional[Proc] = None
        self.fake: Optional[Proc] = None
        self.freshdesk_url = ""
        self.base_env = {k: v for k, v in os.environ.items()
                         if k not in ("LOG_LEVEL", "DATABASE_URL", "ACTION_SERVER_TOKEN")}
        self.base_env["RASA_TELEMETRY_ENABLED"] = "false"

    # -- services ------------------------------------------------------------

    def start_fake_freshdesk(self) -> None:
        addr_file = os.path.join(self.work, "freshdesk.addr")
        self.fake = Proc("fake Freshdesk",
                         [os.path.join(self.a.bin_dir, "fakefreshdesk"), "-addr", "127.0.0.1:0",
                          "-addr-file", addr_file, "-key", "test-key", "-down", self.a.freshdesk_down],
                         os.path.join(self.logs, "fakefreshdesk.log"), self.base_env, self.pidfile)
        wait_until("the fake Freshdesk's address", lambda: os.path.exists(addr_file), self.fake, 20)
        with open(addr_file) as fh:
            self.freshdesk_url = "http://" + fh.read().strip()

    def start_rasa(self) -> float:
        for port in (self.a.rasa_port, self.a.actions_port):
            if port_busy(port):
                raise RuntimeError(f"port {port} is already in use on 127.0.0.1 (another Rasa or action "
                                   f"server?); stop it or set RASA_E2E_RASA_PORT / RASA_E2E_ACTIONS_PORT")
        endpoints = os.path.join(self.work, "endpoints.yml")
        with open(endpoints, "w") as fh:
            # no tracker_store / lock_store: in memory
            yaml.safe_dump({"action_endpoint": {"url": f"{self.actions_url}/webhook",
                                                "token": self.action_token}}, fh)
        credentials = os.path.join(self.work, "credentials.yml")
        with open(credentials, "w") as fh:
            fh.write("rest:\n")
        env = dict(self.base_env)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        rasa_bin = os.path.join(os.path.dirname(sys.executable), "rasa")
        started = time.monotonic()
        self.rasa = Proc("rasa run",
                         [rasa_bin, "run", "--enable-api", "--auth-token", self.rasa_token,
                          "-i", "127.0.0.1", "-p", str(self.a.rasa_port), "-m", self.a.model,
                          "--endpoints", endpoints, "--credentials", credentials],
                         os.path.join(self.logs, "rasa.log"), env, self.pidfile, cwd=self.work)

        def ready() -> bool:
            status, _ = http("GET", self.rasa_url + "/", timeout=3)
            if status != 200:
                return False
            status, body = http("GET", f"{self.rasa_url}/status?token={self.rasa_token}", timeout=3)
            return status == 200 and isinstance(body, dict) and bool(body.get("model_file"))

        wait_until("Rasa to answer with a loaded model", ready, self.rasa, self.a.rasa_timeout, 1.0)
        return time.monotonic() - started

    def start_actions(self, database_url: str, logfile: str) -> Proc:
        env = dict(self.base_env)
        env.update({
            "ACTIONS_ADDR": f"127.0.0.1:{self.a.actions_port}",
            "DATABASE_URL": database_url,
            "FRESHDESK_API_URL": self.freshdesk_url,
            "FRESHDESK_API_KEY": "test-key",
            "FRESHDESK_EXTERNAL_ID_KEY": self.external_id_key,
            "ACTION_SERVER_TOKEN": self.action_token,
            "LOG_LEVEL": "warn",
            "SHUTDOWN_TIMEOUT": "2s",
        })
        wait_until(f"port {self.a.actions_port} to be free", lambda: not port_busy(self.a.actions_port), None, 20)
        p = Proc("action server", [os.path.join(self.a.bin_dir, "actionserver")], logfile, env, self.pidfile)

        def healthy() -> bool:
            return http("GET", self.actions_url + "/health", timeout=2)[0] == 200

        wait_until("the action server's /health", healthy, p, 30, 0.1)
        p.ready_offset = os.path.getsize(logfile)  # start-up warnings end here
        return p

    def fresh_bank(self, dbname: str, logfile: str) -> str:
        psql(self.a.database_url, f'DROP DATABASE IF EXISTS "{dbname}"')
        psql(self.a.database_url, f'CREATE DATABASE "{dbname}"')
        url = db_url(self.a.database_url, dbname)
        env = dict(self.base_env, DATABASE_URL=url)
        with open(logfile, "ab") as out:
            for cmd in ("migrate", "seed"):
                r = subprocess.run([os.path.join(self.a.bin_dir, "cardblockctl"), cmd], env=env,
                                   stdout=out, stderr=subprocess.STDOUT, timeout=120)
                if r.returncode != 0:
                    raise RuntimeError(f"cardblockctl {cmd} failed (see {logfile})")
        return url

    # -- one test case -------------------------------------------------------

    def tracker_events(self, sender: str) -> List[Dict[str, Any]]:
        q = urllib.parse.quote(sender, safe=":")
        status, body = http("GET", f"{self.rasa_url}/conversations/{q}/tracker?token={self.rasa_token}")
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"GET tracker of {sender!r}: HTTP {status}: {body}")
        if body.get("sender_id") != sender:
            raise RuntimeError(f"GET tracker of {sender!r} returned sender_id {body.get('sender_id')!r}")
        return body.get("events") or []

    def run_case(self, item: Dict[str, Any], number: int) -> Tuple[bool, List[str], Dict[str, Any]]:
        info: Dict[str, Any] = {"turns": 0, "sender": None}
        try:
            return self._run_case(item, info)
        finally:
            if info["sender"]:  # the whole conversation, for post-mortems
                try:
                    path = os.path.join(self.logs, f"case{number:02d}.tracker.json")
                    with open(path, "w", encoding="utf-8") as fh:
                        json.dump(self.tracker_events(info["sender"]), fh, ensure_ascii=False, indent=1)
                except Exception as e:
                    log(f"could not save the tracker of case {number}: {e}")

    def _run_case(self, item: Dict[str, Any], info: Dict[str, Any]) -> Tuple[bool, List[str], Dict[str, Any]]:
        case = item["case"]
        name = str(case.get("test_case"))
        steps = case.get("steps") or []
        md_defs, fx_defs = item["metadata"], item["fixtures"]

        case_md: Dict[str, Any] = {}
        if case.get("metadata"):
            if case["metadata"] not in md_defs:
                return False, [f"metadata {case['metadata']!r} is not defined in {item['file']}"], info
            case_md = dict(md_defs[case["metadata"]] or {})

        sender = re.sub(r"[^A-Za-z0-9_.:~-]", "_", f"{name}_{datetime.datetime.now().isoformat()}")
        info["sender"] = sender
        fixtures = case.get("fixtures") or []
        if fixtures:
            slot_events = []
            for fx in fixtures:
                if fx not in fx_defs:
                    return False, [f"fixture {fx!r} is not defined in {item['file']}"], info
                for slot_map in fx_defs[fx] or []:
                    for k, v in slot_map.items():
                        slot_events.append({"event": "slot", "name": k, "value": v})
            q = urllib.parse.quote(sender, safe=":")
            status, body = http("POST", f"{self.rasa_url}/conversations/{q}/tracker/events?token={self.rasa_token}",
                                slot_events)
            if status != 200:
                return False, [f"setting fixtures failed: HTTP {status}: {body}"], info
        events = self.tracker_events(sender)  # runs action_session_start without metadata
        turn: List[Dict[str, Any]] = events  # steps before the first user step match the session start
        turn_desc = "session start"

        groups: List[Tuple[Optional[Dict[str, Any]], List[Dict[str, Any]]]] = [(None, [])]
        for step in steps:
            if "user" in step:
                groups.append((step, []))
            else:
                groups[-1][1].append(step)

        for i, (user_step, expect) in enumerate(groups):
            if user_step is not None:
                text = str(user_step["user"])
                md = dict(case_md)
                if user_step.get("metadata"):
                    if user_step["metadata"] not in md_defs:
                        return False, [f"metadata {user_step['metadata']!r} is not defined"], info
                    md.update(md_defs[user_step["metadata"]] or {})
                md = clean(md)
                status, body = http("POST", f"{self.rasa_url}/webhooks/rest/webhook",
                                    {"sender": sender, "message": text, "metadata": md})
                info["turns"] += 1
                turn_desc = f'turn {info["turns"]} (line {user_step.get("__line__", "?")}) user "{text}"'
                if status != 200:
                    return False, [f"{turn_desc}: POST /webhooks/rest/webhook answered HTTP {status}: {body}"], info
                events = self.tracker_events(sender)
                users = [j for j, e in enumerate(events) if e.get("event") == "user"]
                if not users or events[users[-1]].get("text") != text:
                    last = events[users[-1]].get("text") if users else None
                    return False, [f"{turn_desc}: the tracker's latest user message is {last!r}, not this one"], info
                first_turn_with_session = info["turns"] == 1 and not fixtures
                turn = events if first_turn_with_session else events[users[-1]:]
            problems = check_turn(expect, turn, self.a.any_order)
            if problems:
                return False, [f"{turn_desc}:"] + ["  " + p for p in problems] + \
                    ["  " + s for s in turn_summary(turn)], info
        return True, [], info

    # -- the whole run -------------------------------------------------------

    def run(self) -> int:
        cases = load_cases(self.a.tests)
        if self.a.k:
            cases = [c for c in cases if self.a.k in str(c["case"].get("test_case"))]
        log(f"{len(cases)} test case(s) in {', '.join(self.a.tests)}")
        if not cases:
            print("0 passed, 0 failed")
            log("no test case ran")
            return 1
        self.start_fake_freshdesk()
        log(f"fake Freshdesk at {self.freshdesk_url} (503 for: {self.a.freshdesk_down})")
        log(f"starting rasa run on :{self.a.rasa_port} with {os.path.basename(self.a.model)}")
        try:
            took = self.start_rasa()
        except Exception as e:
            log(f"ERROR: Rasa could not be started: {e}")
            self.log_total()
            print(f"0 passed, {len(cases)} failed", flush=True)
            return 1
        log(f"TIMING rasa start: {took:.1f}s")

        passed = failed = 0
        started = time.monotonic()
        checked_down = False
        for n, item in enumerate(cases, 1):
            case = item["case"]
            name = str(case.get("test_case"))
            rel = os.path.relpath(item["file"])
            dbname = f"e2e_{os.getpid()}_{n:02d}"
            case_log = os.path.join(self.logs, f"case{n:02d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.actions.log")
            t0 = time.monotonic()
            rasa_off = os.path.getsize(self.rasa.logfile)
            fake_off = os.path.getsize(self.fake.logfile)
            actions: Optional[Proc] = None
            actions_off = 0
            try:
                url = self.fresh_bank(dbname, case_log)
                if not checked_down and self.a.freshdesk_down_phone:
                    cid = psql(url, "SELECT id FROM customers WHERE phone_e164 = "
                                    f"'{self.a.freshdesk_down_phone}'")
                    log(f"customer {self.a.freshdesk_down_phone} has id {cid}: unique_external_id "
                        f"sctbnk-customer-{cid}")
                    if f"sctbnk-customer-{cid}" not in self.a.freshdesk_down.split(","):
                        log(f"WARNING: sctbnk-customer-{cid} is not in the fake Freshdesk's 503 list")
                    checked_down = True
                actions = self.start_actions(url, case_log)
                actions_off = actions.ready_offset
                ok, detail, info = self.run_case(item, n)
            except Exception as e:  # infrastructure trouble: this case fails, the run goes on
                ok, detail, info = False, [f"ERROR {e}"], {"turns": 0}
            finally:
                if actions is not None:
                    actions.stop()
                    if not self.rasa.alive():
                        detail = detail + ["Rasa exited during this case"]
                try:
                    psql(self.a.database_url, f'DROP DATABASE IF EXISTS "{dbname}"')
                except Exception as e:
                    log(f"could not drop {dbname}: {e}")
            rasa_lines = self.read_from(self.rasa.logfile, rasa_off)
            errors = list(dict.fromkeys(l.strip() for l in rasa_lines
                                        if ACTION_ERROR_RE.search(l) and " ERROR " in l))
            warns = [l.strip() for l in rasa_lines if RASA_WARN_RE.search(l)]
            tickets = [l.strip().replace("fakefreshdesk: ", "") for l in self.read_from(self.fake.logfile, fake_off)
                       if "/api/v2/tickets" in l]
            if errors:
                ok = False
                detail = detail + ["Rasa logged custom action failures during this case:"] + \
                    ["  " + e[:300] for e in errors[:5]]
            secs = time.monotonic() - t0
            if ok:
                passed += 1
                print(f"PASS {name} ({info['turns']} turns, {secs:.1f}s)", flush=True)
            else:
                failed += 1
                print(f"FAIL {name} ({rel}:{case.get('__line__', '?')}, {secs:.1f}s)", flush=True)
                for line in detail:
                    print("     " + line, flush=True)
                if warns:
                    print("     Rasa warnings: " + " | ".join(w[:200] for w in warns[:3]), flush=True)
                print("     Freshdesk calls: " + ("; ".join(tickets) if tickets else "none"), flush=True)
                if not tickets and any("utter_ticket_created" in l or "ticket_status: 'created'" in l for l in detail):
                    print("     hint: a created ticket was expected but the action server never called Freshdesk "
                          "(is ticket delivery wired in cmd/actionserver?)", flush=True)
                srv = [l.strip() for l in self.read_from(case_log, actions_off)
                       if '"level":"error"' in l or '"level":"warn"' in l]
                if srv:
                    print("     action server warnings/errors (" + case_log + "):", flush=True)
                    for l in srv[:5]:
                        print("       " + l[:300], flush=True)
        log(f"TIMING cases: {time.monotonic() - started:.1f}s for {passed + failed} case(s)")
        log(f"logs: {self.logs}")
        self.log_total()
        print(f"{passed} passed, {failed} failed", flush=True)
        return 0 if failed == 0 and passed > 0 else 1

    @staticmethod
    def log_total() -> None:
        started = os.environ.get("RASA_E2E_STARTED", "")
        if started.isdigit():
            log(f"TIMING total: {int(time.time()) - int(started)}s")

    @staticmethod
    def read_from(path: str, offset: int) -> List[str]:
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                return fh.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def stop(self) -> None:
        for p in (self.rasa, self.fake):
            if p is not None:
                p.stop(grace=15)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tests", nargs="+", help="e2e test files or directories")
    ap.add_argument("--model", required=True)
    ap.add_argument("--bin-dir", required=True, help="holds actionserver, cardblockctl, fakefreshdesk")
    ap.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"),
                    help="a PostgreSQL URL whose user may CREATE DATABASE (default $TEST_DATABASE_URL)")
    ap.add_argument("--work", required=True, help="scratch directory (generated endpoints, pids)")
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--rasa-port", type=int, default=5005)
    ap.add_argument("--actions-port", type=int, default=5055)
    ap.add_argument("--rasa-timeout", type=float, default=600,
                    help="seconds allowed for rasa run to load the model (200 s seen on 2 busy cores)")
    ap.add_argument("--freshdesk-down", default="sctbnk-customer-4",
                    help="comma-separated unique_external_ids (or emails/phones) the fake answers 503")
    ap.add_argument("--freshdesk-down-phone", default="+525512345678",
                    help="check that this demo customer's external id is in --freshdesk-down")
    ap.add_argument("--any-order", action="store_true",
                    help="utter/bot steps may match in any order within a turn (Rasa Pro's behaviour)")
    ap.add_argument("-k", help="only test cases whose name contains this")
    args = ap.parse_args()
    if not args.database_url:
        ap.error("--database-url or TEST_DATABASE_URL is required")
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.log_dir, exist_ok=True)
    with open(os.path.join(args.work, "runner.pid"), "w") as fh:  # for e2e.sh's trap
        fh.write(f"{os.getpid()}\n")

    runner = Runner(args)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        return runner.run()
    except KeyboardInterrupt as e:
        log(f"interrupted ({e})")
        return 130
    except Exception as e:
        log(f"ERROR: {e}")
        return 1
    finally:
        runner.stop()


if __name__ == "__main__":
    sys.exit(main())
