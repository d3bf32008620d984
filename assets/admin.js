// Admin pages: show times in the viewer's time zone, and send that zone with the forms that take
// times, so a window planned for "18:00" means 18:00 where the admin is. Without it, times are UTC.
document.addEventListener('DOMContentLoaded', function () {
  var offset = new Date().getTimezoneOffset();
  document.querySelectorAll('input[name=tz]').forEach(function (input) { input.value = offset; });
  document.querySelectorAll('input[type=datetime-local][data-utc]').forEach(function (input) {
    var t = new Date(input.dataset.utc);
    if (!isNaN(t)) input.value = new Date(t.getTime() - offset * 60000).toISOString().slice(0, 16);
  });
  document.querySelectorAll('time[datetime]').forEach(function (el) {
    var t = new Date(el.getAttribute('datetime'));
    if (!isNaN(t)) el.textContent = t.toLocaleString();
  });
  var zone = (Intl.DateTimeFormat().resolvedOptions().timeZone) || 'local time';
  document.querySelectorAll('.tzlabel').forEach(function (el) { el.textContent = zone; });
});
