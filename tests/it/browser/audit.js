// Runs axe-core in Chromium inside every frame of the page (each a page of the daemon at a given
// width, same origin through the test's proxy), one frame after another, and writes the
// violations into <pre id="audit"> as JSON: { frame id: { violations: [{ id, impact, help,
// nodes }], passes, width, overflow, dark, lang } }. A folded group is opened first, so that
// the checks it fetches are audited too.
function loaded(frame) {
  return new Promise((done) => {
    const doc = frame.contentDocument;
    if (doc && doc.readyState === "complete" && doc.querySelector("body > *")) done();
    else frame.addEventListener("load", () => done());
  });
}
// Opens the first folded group of a front page, if there is one, and waits for its checks.
async function unfold(frame) {
  const group = frame.contentDocument.querySelector("details[data-fragment]:not([open])");
  if (!group) return;
  group.open = true;
  for (let i = 0; i < 100 && !group.querySelector("ul.checks"); i++) {
    await new Promise((done) => setTimeout(done, 50));
  }
  if (!group.querySelector("ul.checks")) throw new Error("the folded group did not load");
}
function inject(frame) {
  return new Promise((done, failed) => {
    const script = frame.contentDocument.createElement("script");
    script.src = "/axe.js";
    script.onload = done;
    script.onerror = () => failed(new Error("axe.js did not load"));
    frame.contentDocument.head.append(script);
  });
}
(async () => {
  const frames = [...document.querySelectorAll("iframe")];
  await Promise.all(frames.map(loaded));
  const result = {};
  for (const frame of frames) {
    try {
      await unfold(frame);
      await inject(frame);
      const found = await frame.contentWindow.axe.run(frame.contentDocument);
      const root = frame.contentDocument.documentElement;
      result[frame.id] = {
        dark: frame.contentWindow.matchMedia("(prefers-color-scheme: dark)").matches,
        lang: root.lang,
        width: root.clientWidth,
        // How far the page scrolls sideways: nothing may stick out.
        overflow: root.scrollWidth - root.clientWidth,
        passes: found.passes.length,
        violations: found.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`.slice(0, 400)),
        })),
      };
    } catch (e) {
      result[frame.id] = { error: String(e) };
    }
  }
  const pre = document.createElement("pre");
  pre.id = "audit";
  pre.textContent = JSON.stringify(result);
  document.body.append(pre);
})();
