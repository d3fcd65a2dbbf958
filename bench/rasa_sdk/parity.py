"""Checks that the rasa-sdk peer does the same work as the Go server, so the
benchmark compares like with like. Run with the bench venv's python from
bench/rasa_sdk (bench/run.sh does):

    python parity.py GOLDEN_DIR [--go URL --sdk URL BODY...]

1. Every golden request of validate_card_block_form and action_verify_last4
   (actions/testdata/golden/oss36, written by the Go server's flow tests) is
   run in-process through rasa-sdk's ActionExecutor, a fresh demo bank per
   scenario, and its reply compared with the golden reply.
2. Every benchmark body is posted to both live servers and the replies
   compared.

Replies are compared on what Rasa uses: each event's kind, name and value
(0 == 0.0), and each response's name and variables (rasa-sdk adds null
text/buttons/image keys to every message; they are dropped).
Prints one summary line per part and the differences; exit status 0.
"""

import asyncio
import glob
import json
import os
import re
import sys
import urllib.request

SDK_EMPTY = {"text": None, "buttons": [], "elements": [], "custom": {}, "image": None, "attachment": None}


SPOKEN_REF = re.compile(r"B L K, [0-9A-Z ]{11}")


def normalise(reply):
    """The parts of a reply Rasa uses; spoken block references are masked as
    the Go flow tests mask them in the goldens (references are random)."""
    reply = json.loads(SPOKEN_REF.sub("B L K, X X X X X X", json.dumps(reply or {})))
    events = [(e.get("event"), e.get("name"), e.get("value")) for e in reply.get("events", [])]
    responses = []
    for m in reply.get("responses", []):
        m = {k: v for k, v in m.items() if not (k in SDK_EMPTY and v == SDK_EMPTY[k]) and k != "template"}
        responses.append(m)
    return {"events": events, "responses": responses}


async def goldens(golden_dir):
    import actions.actions as peer
    from actions.bank import Bank
    from rasa_sdk.executor import ActionExecutor

    ex = ActionExecutor()
    ex.register_package("actions")
    total, same, diffs = 0, 0, []
    for scenario in sorted(glob.glob(os.path.join(golden_dir, "*"))):
        peer.BANK = Bank()  # a fresh bank per scenario, as the flow tests do
        for req_file in sorted(glob.glob(os.path.join(scenario, "*.request.json"))):
            with open(req_file, encoding="utf-8") as f:
                call = json.load(f)
            if call.get("next_action") not in ("validate_card_block_form", "action_verify_last4"):
                continue
            with open(req_file.replace(".request.json", ".response.json"), encoding="utf-8") as f:
                want = normalise(json.load(f))
            res = await ex.run(call)
            got = normalise(res.model_dump() if res else None)
            total += 1
            if got == want:
                same += 1
            else:
                diffs.append((os.path.relpath(req_file, golden_dir), got, want))
    return total, same, diffs


def post(url, body):
    req = urllib.request.Request(url + "/webhook", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def main(argv):
    golden_dir = argv[0]
    total, same, diffs = asyncio.run(goldens(golden_dir))
    print(f"goldens: {same}/{total} replies of validate_card_block_form and action_verify_last4 identical")
    for name, got, want in diffs:
        print(f"  differs: {name}\n    rasa-sdk: {json.dumps(got, ensure_ascii=False)}\n    golden:   {json.dumps(want, ensure_ascii=False)}")
    if "--go" in argv:
        go = argv[argv.index("--go") + 1]
        sdk = argv[argv.index("--sdk") + 1]
        bodies = [a for a in argv[1:] if a.endswith(".json")]
        ok = 0
        for b in bodies:
            with open(b, "rb") as f:
                body = f.read()
            g, s = normalise(post(go, body)), normalise(post(sdk, body))
            if g == s:
                ok += 1
            else:
                print(f"  differs: {os.path.basename(b)}\n    rasa-sdk: {s}\n    go:       {g}")
        print(f"bench bodies: {ok}/{len(bodies)} replies identical between the two servers")


if __name__ == "__main__":
    main(sys.argv[1:])
