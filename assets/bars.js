// Keyboard access to the 90-day bars: Tab reaches a bar, the arrow keys, Home and End move
// between its days, and the day in focus shows its label and incidents as hovering would.
// A folded group of a big front page fetches its checks when it is first opened; its link to
// the group's page stays for visitors without JavaScript, and if the fetch fails.
const wire = (root) => {
  for (const bar of root.querySelectorAll("ol.bar")) {
    let at = -1;
    const days = bar.children;
    const show = (i) => {
      if (at >= 0) days[at].classList.remove("cur");
      at = i;
      if (at >= 0) days[at].classList.add("cur");
    };
    bar.tabIndex = 0;
    bar.addEventListener("keydown", (e) => {
      const last = days.length - 1;
      const to = { ArrowLeft: Math.max(0, (at < 0 ? last + 1 : at) - 1), ArrowRight: Math.min(last, at + 1), Home: 0, End: last }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      show(to);
    });
    bar.addEventListener("focusout", (e) => {
      if (!bar.contains(e.relatedTarget)) show(-1);
    });
  }
};
wire(document);
for (const group of document.querySelectorAll("details[data-fragment]")) {
  group.addEventListener("toggle", async () => {
    const fold = group.querySelector("p.fold");
    if (!group.open || !fold || group.dataset.loading) return;
    group.dataset.loading = "1";
    group.setAttribute("aria-busy", "true");
    try {
      const r = await fetch(group.dataset.fragment);
      if (!r.ok) throw new Error(r.status);
      const list = document.createElement("div");
      list.innerHTML = await r.text();
      wire(list);
      fold.replaceWith(...list.childNodes);
    } catch {
      delete group.dataset.loading;
    } finally {
      group.removeAttribute("aria-busy");
    }
  });
}
