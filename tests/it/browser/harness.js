// Runs in Chromium on a page that frames the status page twice (360 px and 1000 px wide, same
// origin through the test's proxy) and writes what it finds into <pre id="result"> as JSON.
function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function parse(color) {
  const m = color.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(",").map((x) => parseFloat(x));
  return { rgb: p.slice(0, 3), alpha: p.length > 3 ? p[3] : 1 };
}
function background(win, el) {
  for (let e = el; e; e = e.parentElement) {
    const c = parse(win.getComputedStyle(e).backgroundColor);
    if (c && c.alpha > 0.5) return c.rgb;
  }
  return [255, 255, 255];
}
// Every visible element with its own text: WCAG AA, 4.5:1, or 3:1 for large text.
function contrast(win, doc) {
  const failures = [];
  let checked = 0;
  for (const el of doc.body.querySelectorAll("*")) {
    if (el.closest(".bar, .sr, svg")) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = win.getComputedStyle(el);
    const fg = parse(style.color);
    const ratio = (() => {
      const [a, b] = [luminance(fg.rgb), luminance(background(win, el))].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05);
    })();
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight) >= 700);
    checked++;
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${el.tagName.toLowerCase()}.${el.className}: "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
  }
  return { checked, failures };
}
function inspect(frame) {
  const win = frame.contentWindow, doc = frame.contentDocument;
  const bars = [...doc.querySelectorAll("ol.bar")];
  const cells = bars.flatMap((b) => [...b.children]);
  const out = {
    width: frame.clientWidth,
    scrollWidth: doc.documentElement.scrollWidth,
    dark: win.matchMedia("(prefers-color-scheme: dark)").matches,
    lang: doc.documentElement.lang,
    landmarks: ["header", "main", "footer", "h1"].filter((s) => doc.querySelector(s)),
    bars: bars.length,
    cells: cells.length,
    unlabelled: cells.filter((c) => !c.textContent.trim()).length,
    contrast: contrast(win, doc),
  };
  // The keyboard: the bar takes focus, ArrowLeft from nothing picks today, whose label shows.
  const bar = bars[0];
  if (bar) {
    bar.focus();
    bar.dispatchEvent(new win.KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    const cur = bar.querySelector("li.cur");
    const label = cur && cur.firstElementChild;
    out.keyboard = {
      tabIndex: bar.tabIndex,
      current: cur ? [...bar.children].indexOf(cur) : -1,
      shown: label ? label.getBoundingClientRect().width : 0,
      text: label ? label.textContent : "",
    };
    bar.dispatchEvent(new win.KeyboardEvent("keydown", { key: "Home", bubbles: true }));
    out.keyboard.home = [...bar.children].indexOf(bar.querySelector("li.cur"));
  }
  // Focus on an incident link inside a day shows that day's label around it.
  const link = doc.querySelector("ol.bar a");
  if (link) {
    link.focus();
    out.linkShown = link.parentElement.getBoundingClientRect().width;
    out.linkText = link.textContent;
  }
  return out;
}
function whenLoaded(frame) {
  return new Promise((done) => {
    if (frame.contentDocument && frame.contentDocument.readyState === "complete" && frame.contentDocument.querySelector("main")) done();
    else frame.addEventListener("load", () => done());
  });
}
(async () => {
  const frames = [...document.querySelectorAll("iframe")];
  await Promise.all(frames.map(whenLoaded));
  const result = {};
  for (const f of frames) result[f.id] = inspect(f);
  // For the screenshot: each frame at its top, today's label of its first bar open.
  for (const f of frames) {
    f.contentDocument.activeElement?.blur();
    f.contentWindow.scrollTo(0, 0);
    const today = f.contentDocument.querySelector("ol.bar > li:last-child");
    if (today) today.classList.add("cur");
  }
  window.scrollTo(0, 0);
  const pre = document.createElement("pre");
  pre.id = "result";
  pre.textContent = JSON.stringify(result);
  document.body.append(pre);
})();
