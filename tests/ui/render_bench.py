#!/usr/bin/env python3
"""Time to first render of the Nodes page with many nodes, in headless Chromium.

  render_bench.py DROVER [NODES=10000] [RUNS=5]

Declares NODES nodes, starts `drover serve`, logs in, then loads https://.../ui/#/nodes
RUNS times from scratch (a new navigation each time: HTML, modules, session, node list,
render) and reports, from the page's own Performance timeline:
  api     the GET /v1/ui/nodes request, start to last byte
  render  from that response to the table built (DOM ready)
  paint   navigation start to the first frame after the table was built
Then sorting by IP and searching, each timed in the page.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    chromium = harness.chromium_or_exit()
    drover = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    work = tempfile.mkdtemp(prefix="drover-ui-bench-")
    nodes = "".join(
        harness.node_yaml(f"node-{i:05d}", f"52:54:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}",
                          f"10.20.{i // 250}.{i % 250 + 2}", {"rack": f"r{i % 40}", "zone": f"z{i % 3}"})
        for i in range(count))
    config = harness.write_site(work, nodes)
    serve = harness.Serve(drover, config, os.path.join(work, "state"))
    browser = harness.Browser(chromium, serve.spki_hashes())
    try:
        browser.goto(serve.api + "/ui/")
        browser.wait("document.body.dataset.ready === 'login'")
        browser.eval(f"document.getElementById('token').value = {json.dumps(serve.token)}; "
                     "document.querySelector('#login-form button').click()")
        browser.wait("document.body.dataset.ready === 'overview'", timeout=60)
        samples = []
        for _ in range(runs):
            browser.goto("about:blank")
            browser.goto(serve.api + "/ui/#/nodes")
            browser.wait("document.body.dataset.ready === 'nodes' && "
                         "performance.getEntriesByName('drover-nodes-painted').length > 0", timeout=60)
            t = browser.eval("""(() => {
              const res = performance.getEntriesByType('resource').find(e => e.name.endsWith('/v1/ui/nodes'));
              const built = performance.getEntriesByName('drover-nodes-rendered')[0].startTime;
              const painted = performance.getEntriesByName('drover-nodes-painted')[0].startTime;
              return {api: res.responseEnd - res.startTime, render: built - res.responseEnd, paint: painted,
                      rows: document.querySelector('.count').textContent,
                      dom: document.querySelectorAll('#node-table .vrow').length};
            })()""")
            samples.append(t)
            print(f"run: api {t['api']:.0f} ms, render {t['render']:.0f} ms, first paint {t['paint']:.0f} ms "
                  f"({t['rows']}, {t['dom']} rows in the DOM)")
        sort_ms = browser.eval("(() => { const t0 = performance.now(); "
                               "document.querySelector('.vhead [data-key=ip]').click(); "
                               "return performance.now() - t0; })()")
        search_ms = browser.eval("(() => { const q = document.querySelector('input[name=q]'); q.value = '00:27:'; "
                                 "const t0 = performance.now(); q.dispatchEvent(new Event('input', {bubbles: true})); "
                                 "return performance.now() - t0; })()")
        med = {k: statistics.median(s[k] for s in samples) for k in ("api", "render", "paint")}
        print(f"nodes={count} runs={runs} median: api {med['api']:.0f} ms, render {med['render']:.0f} ms, "
              f"time to first render {med['paint']:.0f} ms; sort by IP {sort_ms:.0f} ms; search {search_ms:.0f} ms")
    finally:
        browser.close()
        serve.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
