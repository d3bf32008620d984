// Admin pages: show times in the viewer's time zone, and send that zone (its IANA name, so the
// server applies the offset in force on each date, daylight saving included) with the forms
// that take times. Without JavaScript, times are UTC.
document.addEventListener('DOMContentLoaded', function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  document.querySelectorAll('input[name=tz]').forEach(function (input) { input.value = zone; });
  document.querySelectorAll('input[type=datetime-local][data-utc]').forEach(function (input) {
    var t = new Date(input.dataset.utc);
    if (!isNaN(t)) input.value = new Date(t.getTime() - t.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  });
  document.querySelectorAll('time[datetime]').forEach(function (el) {
    var t = new Date(el.getAttribute('datetime'));
    if (!isNaN(t)) el.textContent = t.toLocaleString();
  });
  document.querySelectorAll('.tzlabel').forEach(function (el) { el.textContent = zone; });
});
