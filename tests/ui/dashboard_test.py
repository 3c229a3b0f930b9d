#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium against a running `drover serve`.

  dashboard_test.py DROVER [SCREENSHOT_DIR]

Logs in with the operator token; the declared nodes appear; a node's timeline grows (pushed
over the event stream, a burst in fewer messages than events) while
an agent reports; reinstall from the page changes the node's state; a state change without
the CSRF token and a request on an expired session are refused; capture and its cancel
from the page; a hostile hostname is shown as text; the Images page shows each version's
expiry and the background update checks (last check, result, next check, error) of images
whose upstream moves on or goes away; logout ends the session; no page logs a console error. Exit 77 (skipped) without
Chromium, unless CI is set.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
SESSION_TTL = 10
# Upstream versions of the image "tools": the first use's, then two updates found by serve.
TOOLS = [b"tools v1 " * 1000, b"tools v2 " * 2000, b"tools v3 " * 3000]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what)


def main():
    chromium = harness.chromium_or_exit()
    drover = sys.argv[1]
    shots = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("DROVER_UI_SCREENSHOTS")
    work = tempfile.mkdtemp(prefix="drover-ui-test-")
    nodes = (harness.node_yaml("node-1", "52:54:00:12:34:56", "192.0.2.10", {"rack": "r1", "role": "etcd"}) +
             harness.node_yaml("node-2", "52:54:00:12:34:57", "192.0.2.11", {"rack": "r1"}) +
             harness.node_yaml("node-3", "52:54:00:12:34:58", "10.20.0.5", {"rack": "r2"}))
    # Two images by URL with update checks every 2 s, cached by a first use; then upstream
    # moves on: serve's first checks find a new "tools" and no "rescue" at all.
    upstream = harness.Upstream(os.path.join(work, "upstream"))
    serve = browser = None
    try:
        upstream.publish("tools.raw", TOOLS[0])
        upstream.publish("rescue.raw", b"rescue v1")
        images = (upstream.image_yaml("tools", "tools.raw", "interval: 2s, expire: 1h") +
                  upstream.image_yaml("rescue", "rescue.raw", "interval: 2s"))
        config = harness.write_site(work, nodes, images, upstream.trust_yaml())
        serve = harness.Serve(drover, config, os.path.join(work, "state"), session_ttl=SESSION_TTL)
        for image in ("tools", "rescue"):
            status, _ = serve.request("GET", f"{serve.http}/assets/{image}/disk")
            assert status == 200, f"{image}: {status}"
        upstream.publish("tools.raw", TOOLS[1])
        upstream.remove("rescue.raw")
        # The background learns of newly cached files at its next rescan (up to 30 s), or
        # at once on a reload.
        serve.reload()
        browser = harness.Browser(chromium, serve.spki_hashes())
        run(serve, browser, shots, upstream)
    finally:
        if browser:
            browser.close()
        if serve:
            serve.stop()
        upstream.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")


def page(browser, serve, hash_, ready):
    # A new hash in the same document keeps the old page's mark until the new one is drawn.
    browser.eval("document.body && (document.body.dataset.ready = '')")
    browser.goto(f"{serve.api}/ui/#{hash_}")
    browser.wait(f"document.body.dataset.ready === '{ready}'", what=f"page {hash_}")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def wait_images(serve, cond, what, timeout=20):
    """Polls GET /v1/ui/images until cond(rows, checks by image) holds (a safety bound only)."""
    deadline = time.time() + timeout
    while True:
        j = serve.op("GET", "/v1/ui/images")[1]
        checks = {c["image"]: c for c in j.get("checks", [])}
        if cond(j["images"], checks):
            return j
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {json.dumps(j)[:2000]}")
        time.sleep(0.2)


def run(serve, browser, shots, upstream):
    def shot(name, down_to=None):
        if shots:
            browser.pump(0.3)
            browser.screenshot(os.path.join(shots, "dashboard-" + name + ".png"), down_to)

    # Machines report before anyone looks: node-3 joined, node-2 failed, a discovered one.
    a3 = serve.agent("52:54:00:12:34:58")
    a3.register({"mac": "52:54:00:12:34:58", "arch": "efi-x64", "cpu": {"model": "EPYC 7302", "count": 16},
                 "memory_bytes": 64 << 30})
    for phase in ("install_started", "image_written", "seed_written", "installed", "rebooting", "runtime_started",
                  "joined"):
        a3.event(phase, phase.replace("_", " "))
    a2 = serve.agent("52:54:00:12:34:57")
    a2.register({"mac": "52:54:00:12:34:57"})
    a2.event("install_started")
    a2.event("failed", "disk /dev/vda is 2 GiB, the image needs 8 GiB")
    unknown = serve.agent("52:54:00:aa:bb:cc")
    unknown.register({"mac": "52:54:00:aa:bb:cc", "uuid": "4c4c4544-0042-3510-8052-b4c04f4e4d32", "arch": "bios",
                      "hostname": HOSTILE, "cpu": {"model": HOSTILE, "count": 4}, "memory_bytes": 8 << 30,
                      "disks": [{"name": "sda", "size_bytes": 480 << 30, "model": "SSD", "rotational": False}],
                      "smbios": {"vendor": "Dell Inc.", "product": "PowerEdge R640"}})

    # Login.
    browser.goto(serve.api + "/")
    browser.wait("document.body.dataset.ready === 'login'", what="the login form")
    shot("login")
    browser.eval("document.getElementById('token').value = 'not-the-token'; "
                 "document.querySelector('#login-form button').click()")
    browser.wait("document.getElementById('login-error').textContent.length > 0", what="a refused login")
    check(browser.eval("document.body.dataset.ready") == "login", "a wrong token is refused")
    browser.problems()  # the refused login's 401 is expected
    browser.eval(f"document.getElementById('token').value = {json.dumps(serve.token)}; "
                 "document.querySelector('#login-form button').click()")
    browser.wait("document.body.dataset.ready === 'overview'", what="the overview after login")
    check(browser.eval("document.cookie") == "", "the session cookie is HttpOnly (not visible to scripts)")
    check(browser.eval("document.querySelector('.stat[data-state=failed] .big').textContent") == "1",
          "overview counts the failed node")
    check("disk /dev/vda is 2 GiB" in browser.eval("document.getElementById('failures').textContent"),
          "overview shows the failure's reason")

    # Nodes.
    page(browser, serve, "/nodes", "nodes")
    names = browser.eval("[...document.querySelectorAll('#node-table .vrow')].map(r => r.dataset.node)")
    check(set(["node-1", "node-2", "node-3", "unknown-525400aabbcc"]) <= set(names), f"the served nodes appear: {names}")
    browser.eval("(() => { const s = document.querySelector('select[name=label]'); s.value = 'rack=r2'; "
                 "s.dispatchEvent(new Event('input', {bubbles: true})); })()")
    names = browser.eval("[...document.querySelectorAll('#node-table .vrow')].map(r => r.dataset.node)")
    check(names == ["node-3"], f"the label filter keeps node-3 only: {names}")
    browser.eval("(() => { const s = document.querySelector('select[name=label]'); s.value = ''; "
                 "s.dispatchEvent(new Event('input', {bubbles: true})); "
                 "const q = document.querySelector('input[name=q]'); q.value = '12:34:57'; "
                 "q.dispatchEvent(new Event('input', {bubbles: true})); })()")
    names = browser.eval("[...document.querySelectorAll('#node-table .vrow')].map(r => r.dataset.node)")
    check(names == ["node-2"], f"search by MAC finds node-2: {names}")
    browser.eval("(() => { const q = document.querySelector('input[name=q]'); q.value = ''; "
                 "q.dispatchEvent(new Event('input', {bubbles: true})); "
                 "document.querySelector('.vhead [data-key=ip]').click(); })()")
    names = browser.eval("[...document.querySelectorAll('#node-table .vrow')].map(r => r.dataset.node)")
    check(names == ["unknown-525400aabbcc", "node-3", "node-1", "node-2"], f"sorting by IP orders the table: {names}")
    check(browser.eval("!!document.querySelector('#discovered [data-node=unknown-525400aabbcc] pre.snippet')"),
          "a discovered machine comes with a declaration snippet")
    check("mac: 52:54:00:aa:bb:cc" in browser.eval("document.querySelector('#discovered pre.snippet').textContent"),
          "the snippet names the machine's MAC")
    text = browser.eval("document.getElementById('discovered').textContent")
    check(HOSTILE in text and browser.eval("document.querySelectorAll('#discovered img').length") == 0,
          "facts a machine reported are text, not markup (nodes page)" + ("" if HOSTILE in text else f": {text}"))
    shot("nodes")

    # A hostile hostname on the node page.
    page(browser, serve, "/node/unknown-525400aabbcc", "nodes")
    check(HOSTILE in browser.eval("document.getElementById('facts').textContent"), "the hostile hostname is shown")
    check(browser.eval("document.querySelectorAll('img').length") == 0, "and no <img> element was made from it")

    # node-1's timeline grows while its agent reports.
    a1 = serve.agent("52:54:00:12:34:56")
    a1.register({"mac": "52:54:00:12:34:56", "arch": "bios", "cpu": {"model": "Xeon", "count": 8},
                 "memory_bytes": 16 << 30, "disks": [{"name": "vda", "size_bytes": 64 << 30}],
                 "nics": [{"name": "eth0", "mac": "52:54:00:12:34:56", "driver": "virtio_net", "link": True}]})
    a1.event("install_started", "image os")
    page(browser, serve, "/node/node-1", "nodes")
    # Pushed, not polled: while the event stream is up the node page does not poll.
    browser.wait("document.body.dataset.live === 'on'", timeout=10, what="the live event stream")
    before = browser.eval("document.querySelectorAll('#events tbody tr').length")
    phases_before = browser.eval("document.querySelectorAll('#timeline .phase').length")
    for i, p in enumerate((0.25, 0.5, 0.75)):
        a1.event("image_progress", f"{int(p * 100)}%", p)
        browser.wait(f"document.querySelectorAll('#events tbody tr').length >= {before + i + 1}", timeout=10,
                     what=f"event {i + 1} on the page")
    a1.event("image_written", "sha256 verified")
    browser.wait(f"document.querySelectorAll('#timeline .phase').length >= {phases_before + 4}", timeout=10,
                 what="the timeline's new phases")
    check(browser.eval("document.getElementById('ipxe').textContent").startswith("#!ipxe"),
          "the node page shows its iPXE script")
    cc = browser.eval("document.getElementById('cloud-config').textContent")
    check("hostname: node-1" in cc and "s3cret-pass" not in cc and "password: ********" in cc,
          "the cloud-config is shown with its secrets masked")
    a1.event("seed_written")
    a1.event("installed", "rebooting into the installed system")
    browser.wait("document.querySelector('.node-head .state').textContent === 'installed'", timeout=10,
                 what="node-1 installed on the page")
    check(True, "a node's timeline grows live while its agent reports")
    # A burst of events arrives in far fewer pushed messages.
    burst = 30
    rows = browser.eval("document.querySelectorAll('#events tbody tr').length")
    messages = int(browser.eval("document.body.dataset.liveMessages || '0'"))
    for i in range(burst):
        a1.event("post_install", f"step {i}")
    browser.wait(f"document.querySelectorAll('#events tbody tr').length >= {rows + burst}", timeout=15,
                 what="the burst on the page")
    pushed = int(browser.eval("document.body.dataset.liveMessages || '0'")) - messages
    print(f"burst: {burst} events arrived in {pushed} pushed messages", flush=True)
    check(0 < pushed < burst, f"{burst} events in a burst arrive in fewer pushed messages ({pushed})")
    shot("node")

    # Meanwhile serve's background checks found tools v2; upstream moves on to v3.
    t = time.time()
    wait_images(serve, lambda rows, checks: "tools" in checks and checks["tools"]["versions"] == 2,
                "the second version of tools")
    upstream.publish("tools.raw", TOOLS[2])
    print(f"tools v2 was current {time.time() - t:.1f}s after the node page's checks", flush=True)

    # Reinstall from the page: cancel first, then confirm.
    browser.eval("document.getElementById('reinstall').click()")
    browser.wait("document.getElementById('confirm').open", what="the confirmation dialog")
    browser.eval("document.getElementById('confirm-cancel').click()")
    time.sleep(0.5)
    check(serve.op("GET", "/v1/nodes/node-1")[1]["state"] == "installed", "a cancelled confirmation changes nothing")
    browser.eval("document.getElementById('reinstall').click()")
    browser.wait("document.getElementById('confirm').open", what="the confirmation dialog")
    shot("node-confirm")
    browser.eval("document.getElementById('confirm-ok').click()")
    browser.wait("document.querySelector('.node-head .state').textContent === 'installed+reinstall'", timeout=10,
                 what="the reinstall on the page")
    check(serve.op("GET", "/v1/nodes/node-1")[1]["state"] == "installed+reinstall", "reinstall from the page")

    # Capture and cancel it from the page (node-3 has joined).
    page(browser, serve, "/node/node-3", "nodes")
    check(browser.eval("document.getElementById('cancel-capture').hidden"), "no capture to cancel at first")
    browser.eval("document.getElementById('capture').click()")
    browser.wait("document.getElementById('confirm').open", what="the capture confirmation")
    browser.eval("document.querySelector('#confirm-extra input[name=image]').value = 'golden'; "
                 "document.getElementById('confirm-ok').click()")
    browser.wait("document.querySelector('.node-head .state').textContent === 'joined+capture'", timeout=10,
                 what="the capture on the page")
    check(serve.op("GET", "/v1/nodes/node-3")[1].get("capture") == "golden", "capture from the page, to the image named")
    browser.wait("!document.getElementById('cancel-capture').hidden", what="the cancel button")
    browser.eval("document.getElementById('cancel-capture').click()")
    browser.wait("document.getElementById('confirm').open", what="the cancel confirmation")
    browser.eval("document.getElementById('confirm-ok').click()")
    browser.wait("document.querySelector('.node-head .state').textContent === 'joined'", timeout=10,
                 what="the cancelled capture on the page")
    check(serve.op("GET", "/v1/nodes/node-3")[1].get("capture") == "", "cancel capture from the page")

    # Images: versions with their expiry, and the background checks.
    t = time.time()
    wait_images(serve, lambda rows, checks: checks.get("tools", {}).get("versions") == 3 and
                checks.get("rescue", {}).get("last_result") == "failed", "tools v3 and the failed rescue check")
    print(f"waited {time.time() - t:.1f}s for tools v3 and the failed check of rescue", flush=True)
    page(browser, serve, "/images", "images")
    check("a" * 64 in browser.eval("document.querySelector('.page.images').textContent"), "images show digests")

    def cell(image, selector):
        return browser.eval(f"(document.querySelector('[data-image={image}] {selector}') || {{}}).textContent")

    def expires(data):
        return cell("tools", f"table.versions tr[data-sha256=\"{sha(data)}\"] .expires")

    for old in TOOLS[:2]:
        e = expires(old)
        check(e.startswith("20") and "(in 59m" in e, f"an unused version expires an hour after its last use: {e}")
    check(expires(TOOLS[2]) == "kept while current", f"the current version is kept: {expires(TOOLS[2])}")
    result = cell("tools", "table.checks tr[data-kind=disk] .result")
    check(result in ("updated", "unchanged"), f"tools: the last check's result: {result}")
    last = cell("tools", "table.checks tr[data-kind=disk] .last-check")
    check(last.startswith("20") and "ago)" in last, f"tools: when it was last checked: {last}")
    nxt = cell("tools", "table.checks tr[data-kind=disk] .next-check")
    check(nxt == "due now" or "(in " in nxt, f"tools: when it is checked next: {nxt}")
    events = cell("tools", "table.checks tr[data-kind=disk] .events")
    check(f"updated {sha(TOOLS[2])[:12]}" in events and f"updated {sha(TOOLS[1])[:12]}" in events,
          f"tools: the updates are among the recent events: {events}")
    failed = cell("rescue", "table.checks tr[data-kind=disk] .result")
    check(failed.startswith("failed") and "not_found" in failed, f"rescue: the failed check and its error: {failed}")
    check(browser.eval("document.querySelectorAll('.page.images img').length") == 0, "the images page is text")
    shot("images", down_to=".page.images")
    page(browser, serve, "/", "overview")
    shot("overview")
    problems = browser.problems()
    check(problems == [], f"no console errors on any page: {problems}")

    # Refusals.
    status = browser.eval("fetch('/v1/nodes/node-2/reinstall', {method: 'POST', credentials: 'same-origin'})"
                          ".then(r => r.status)")
    check(status == 403, f"a state change without the CSRF token is refused ({status})")
    check(serve.op("GET", "/v1/nodes/node-2")[1]["state"] == "failed", "and changed nothing")
    browser.goto("about:blank")
    time.sleep(SESSION_TTL + 1.5)
    browser.goto(serve.api + "/ui/style.css")  # this origin, without using the session
    browser.wait("document.readyState === 'complete'", what="a page of this origin")
    refused = browser.eval("fetch('/v1/nodes', {credentials: 'same-origin'})"
                           ".then(async r => [r.status, (await r.json()).error])")
    # "unknown_session" when the page's event stream, rechecking its session, saw the expiry first.
    check(refused[0] == 401 and refused[1] in ("session_expired", "unknown_session"),
          f"a request on an expired session is refused ({refused})")
    page(browser, serve, "/", "login")
    check(True, "an expired session shows the login again")
    browser.problems()

    # Logout.
    browser.eval(f"document.getElementById('token').value = {json.dumps(serve.token)}; "
                 "document.querySelector('#login-form button').click()")
    browser.wait("document.body.dataset.ready === 'overview'", what="the overview after the second login")
    browser.eval("document.getElementById('logout').click()")
    browser.wait("document.body.dataset.ready === 'login'", what="the login after logout")
    status = browser.eval("fetch('/v1/nodes', {credentials: 'same-origin'}).then(r => r.status)")
    check(status == 401, "logout ends the session")


if __name__ == "__main__":
    main()
