// Keyboard access to the 90-day bars: Tab reaches a bar, the arrow keys, Home and End move
// between its days, and the day in focus shows its label and incidents as hovering would.
for (const bar of document.querySelectorAll("ol.bar")) {
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
