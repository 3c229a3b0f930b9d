#!/usr/bin/env python3
"""A screenshot of one node's dashboard page on a running `drover serve`.

  snapshot_node.py API_URL STATE_DIR NODE OUT.png

Logs in with the operator token in STATE_DIR, opens the node's page and saves it from the
top down to the end of its boot timeline (its facts and every phase, however long). Trusts the server's certificate from STATE_DIR/tls. Exit 77
without Chromium or python3-websocket (1 instead when CI is set).
"""
import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    api, state_dir, node, out = sys.argv[1:]
    chromium = harness.chromium_or_exit()
    with open(os.path.join(state_dir, "operator.token")) as f:
        token = f.read().strip()
    spki = harness.Serve.spki_hashes(types.SimpleNamespace(state_dir=state_dir))
    browser = harness.Browser(chromium, spki)
    try:
        browser.goto(f"{api}/ui/")
        browser.wait("document.body.dataset.ready === 'login'", what="the login form")
        browser.eval(f"document.getElementById('token').value = {json.dumps(token)}; "
                     "document.querySelector('#login-form button').click()")
        browser.wait("document.body.dataset.ready === 'overview'", what="the overview after login")
        browser.eval("document.body.dataset.ready = ''")
        browser.goto(f"{api}/ui/#/node/{node}")
        browser.wait("document.body.dataset.ready === 'nodes'", what="the node page")
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        browser.screenshot(out, down_to="#timeline")
    finally:
        browser.close()
    print(f"snapshot_node: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
