// Times in the viewer's own zone. The server writes every time in UTC inside a
// <time datetime data-t> ("Dec 3, 11:24 UTC", "3 déc., 11:24 UTC" on a page in French); this
// writes it again in local time, the same way and in the page's language (<html lang>), with the
// UTC time as its tooltip. Without JavaScript the UTC text stays and reads the same.
(() => {
  const french = document.documentElement.lang === "fr";
  // The date's parts in `zone` (undefined: the viewer's own).
  const parts = (date, zone) => {
    const options = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short", timeZone: zone };
    const p = {};
    for (const { type, value } of new Intl.DateTimeFormat(french ? "fr-FR" : "en-US", options).formatToParts(date)) p[type] = value;
    return p;
  };
  const thisYear = (zone) => parts(new Date(), zone).year;
  // "Dec 3, " or, in another year, "Dec 3, 2025, "; in French "3 déc., ", "1er déc. 2025, ".
  const day = (p, zone) => {
    const year = p.year === thisYear(zone) ? "" : p.year;
    if (!french) return `${p.month} ${p.day}, ${year ? year + ", " : ""}`;
    return `${p.day === "1" ? "1er" : p.day} ${p.month}${year ? " " + year : ""}, `;
  };
  const sameDay = (a, b) => a.year === b.year && a.month === b.month && a.day === b.day;
  const full = (date, zone) => {
    const p = parts(date, zone);
    return `${day(p, zone)}${p.hour}:${p.minute} ${p.timeZoneName}`;
  };
  // How the server words each kind of <time>, in the viewer's zone.
  const local = (el, date) => {
    const p = parts(date);
    switch (el.dataset.t) {
      case "at": return full(date);
      case "at-s": return `${day(p)}${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
      case "from": return `${day(p)}${p.hour}:${p.minute}`;
      case "to": {
        const from = parts(new Date(el.dataset.from));
        return `${sameDay(from, p) ? "" : day(p)}${p.hour}:${p.minute} ${p.timeZoneName}`;
      }
      default: return null;
    }
  };
  for (const el of document.querySelectorAll("time[data-t]")) {
    const date = new Date(el.dateTime);
    if (isNaN(date)) continue;
    if (el.dataset.t === "ago") {
      el.title = full(date);
      continue;
    }
    const text = local(el, date);
    if (text && text !== el.textContent) {
      el.title = full(date, "UTC");
      el.textContent = text;
    }
  }
})();
