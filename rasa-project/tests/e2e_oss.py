#!/usr/bin/env python3
"""Replay the Rasa Pro end-to-end tests (tests/e2e/*.yml) on Rasa Open Source 3.6.

`rasa test e2e` needs a Rasa Pro licence. This script runs the same test files
with Rasa Open Source, the way the Pro runner does: a new sender id per test
case, a session started without metadata, every user step sent through the
real message processor with the test case's metadata, custom actions executed
by the real action server, and each `utter:` / `bot:` / `slot_was_set:` /
`slot_was_not_set:` step matched against the events of the preceding user turn
(in any order within the turn).

Each test case expects a fresh demo bank. With --action-server-cmd the script
starts that command before every test case (and stops it afterwards), waiting
for GET /health; otherwise it uses the action server already running.

The test cases assume Freshdesk answers, except for the requester Carlos Ruiz
whose tickets fail. --fake-freshdesk serves such a Freshdesk on 127.0.0.1 and
passes FRESHDESK_API_URL, FRESHDESK_API_KEY and FRESHDESK_EXTERNAL_ID_KEY to the
action server command through its environment.

  $RASA_VENV/bin/python tests/e2e_oss.py --model models/cardblock.tar.gz \\
      --fake-freshdesk \\
      --action-server-cmd 'ACTIONS_ADDR=127.0.0.1:5055 exec /tmp/actionserver' tests/e2e

Exit status: 0 when every test case passed, 1 otherwise.
"""
import argparse
import asyncio
import datetime
import glob
import http.server
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any, Dict, List, Optional

import yaml


def load_cases(paths: List[str]):
    files: List[str] = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "**", "*.yml"), recursive=True))
            files += sorted(glob.glob(os.path.join(p, "**", "*.yaml"), recursive=True))
        else:
            files.append(p)
    cases = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
        metadata: Dict[str, Dict[str, Any]] = {}
        for item in doc.get("metadata") or []:
            metadata.update(item)
        for case in doc.get("test_cases") or []:
            cases.append((f, case, metadata))
    return cases


def wait_healthy(url: str, timeout: float = 20.0) -> None:
    health = url.split("/webhook")[0].rstrip("/") + "/health"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(health, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"action server not healthy at {health}")


def start_fake_freshdesk(failing: List[str]) -> str:
    """Serves POST /api/v2/tickets (201 with a new id, or 503 when the ticket
    mentions one of `failing`) and the list endpoints (empty). Returns its URL."""
    ids = itertools.count(50001)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace").lower()
            if any(f.lower() in body for f in failing):
                self._reply(503, {"code": "service_unavailable"})
            else:
                self._reply(201, {"id": next(ids)})

        def do_GET(self) -> None:
            self._reply(200, [])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def start_server(cmd: Optional[str], url: str, env: Dict[str, str]) -> Optional[subprocess.Popen]:
    if not cmd:
        wait_healthy(url)
        return None
    proc = subprocess.Popen(
        cmd, shell=True, start_new_session=True, env={**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url)
    except Exception:
        stop_server(proc)
        raise
    return proc


def stop_server(proc: Optional[subprocess.Popen]) -> None:
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def step_matches(step: Dict[str, Any], bots, slots) -> bool:
    if "utter" in step:
        return any((b.metadata or {}).get("utter_action") == step["utter"] for b in bots)
    if "bot" in step:
        return any(b.text == step["bot"] for b in bots)
    if "slot_was_set" in step or "slot_was_not_set" in step:
        negate = "slot_was_not_set" in step
        for item in step.get("slot_was_set") or step.get("slot_was_not_set") or []:
            if isinstance(item, str):
                found = any(s.key == item for s in slots)
            else:
                (name, value), = item.items()
                found = any(s.key == name and s.value == value for s in slots)
            if found == negate:
                return False
        return True
    return True


def describe(step: Dict[str, Any]) -> str:
    return yaml.safe_dump(step, allow_unicode=True, default_flow_style=True).strip()


async def run_case(agent, case, metadata_defs, verbose: bool = False) -> List[str]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.shared.core.events import BotUttered, SlotSet, UserUttered

    name = case["test_case"]
    sender = f"{name}_{datetime.datetime.now()}"
    metadata = metadata_defs.get(case.get("metadata"), {}) if case.get("metadata") else {}
    tracker = await agent.processor.fetch_tracker_with_initial_session(sender)
    await agent.processor.save_tracker(tracker)

    failures: List[str] = []
    bots: List[Any] = []
    slots: List[Any] = []
    transcript: List[str] = []
    for step in case.get("steps", []):
        if "user" in step:
            step_md = dict(metadata)
            if isinstance(step.get("metadata"), str):
                step_md.update(metadata_defs.get(step["metadata"], {}))
            before = len((await agent.processor.get_tracker(sender)).events)
            await agent.handle_message(
                UserMessage(step["user"], CollectingOutputChannel(), sender, metadata=step_md)
            )
            events = list((await agent.processor.get_tracker(sender)).events)[before:]
            user = next((e for e in events if isinstance(e, UserUttered)), None)
            intent = (user.intent or {}).get("name") if user else None
            bots = [e for e in events if isinstance(e, BotUttered)]
            slots = [e for e in events if isinstance(e, SlotSet)]
            transcript.append(f"  user: {step['user']!r} [{intent}]")
            for b in bots:
                transcript.append(f"    bot {(b.metadata or {}).get('utter_action')}: {b.text}")
            continue
        if not step_matches(step, bots, slots):
            seen = ", ".join(f"{s.key}={s.value!r}" for s in slots)
            failures.append(f"  step {describe(step)} not found after the last user turn (slots set: {seen})")
    if failures or verbose:
        failures += ["  transcript:"] + transcript
    return failures


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", default=["tests/e2e"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--action-url", default="http://localhost:5055/webhook")
    ap.add_argument("--action-token", default=os.environ.get("ACTION_SERVER_TOKEN"))
    ap.add_argument("--action-server-cmd", help="shell command that starts a fresh action server")
    ap.add_argument("-k", help="only test cases whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every transcript")
    ap.add_argument("--fake-freshdesk", action="store_true",
                    help="serve a fake Freshdesk to the action server command")
    ap.add_argument("--freshdesk-fails-for", action="append",
                    default=None, help="text in a ticket that makes the fake fail it "
                    "(default: Carlos Ruiz's e-mail and number)")
    args = ap.parse_args()

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING)
    try:
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
    except ImportError:
        pass
    from rasa.core.agent import load_agent
    from rasa.utils.endpoints import EndpointConfig

    try:  # Rasa Open Source 3.6
        from rasa.core.utils import AvailableEndpoints
    except ImportError:  # newer Rasa
        from rasa.utils.endpoints import AvailableEndpoints  # type: ignore

    kwargs = {"token": args.action_token} if args.action_token else {}
    action = EndpointConfig(url=args.action_url, **kwargs)
    agent = await load_agent(model_path=args.model, endpoints=AvailableEndpoints(action=action))

    server_env: Dict[str, str] = {}
    if args.fake_freshdesk:
        failing = args.freshdesk_fails_for or ["carlos.ruiz@example.com", "+525512345678"]
        server_env = {
            "FRESHDESK_API_URL": start_fake_freshdesk(failing),
            "FRESHDESK_API_KEY": "e2e-fake-key",
            "FRESHDESK_EXTERNAL_ID_KEY": "e2e-fake-external-id-key",
        }

    cases = [c for c in load_cases(args.paths) if not args.k or args.k in c[1]["test_case"]]
    passed, failed = 0, 0
    for path, case, metadata in cases:
        proc = start_server(args.action_server_cmd, args.action_url, server_env)
        try:
            lines = await run_case(agent, case, metadata, args.verbose)
        finally:
            stop_server(proc)
        if any(line.startswith("  step") for line in lines):
            failed += 1
            print(f"FAIL {case['test_case']} ({path})")
        else:
            passed += 1
            print(f"ok   {case['test_case']}")
        if lines:
            print("\n".join(lines))
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
