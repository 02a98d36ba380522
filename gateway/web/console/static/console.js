// The console's only script: live refresh of the queue, and confirmations. No library, nothing
// fetched from elsewhere; every page works without it (the queue then refreshes by <noscript> meta).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  var live = document.getElementById("live");
  var rows = document.getElementById("queue-rows");
  if (!live || !rows) {
    return;
  }
  var url = live.getAttribute("data-rows-url");
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 20;

  function refresh() {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.url.indexOf("/console/login") !== -1) {
          window.location.reload();  // the session ended: the login page will say so
          return;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text().then(function (html) {
          rows.innerHTML = html;  // our own server-rendered, escaped rows
          live.textContent = "updated " + new Date().toLocaleTimeString();
          live.classList.remove("stale");
        });
      })
      .catch(function () {
        live.textContent = "not updated: connection lost, retrying";
        live.classList.add("stale");
      });
  }

  window.cpgwRefreshQueue = refresh;  // for the end-to-end test
  window.setInterval(function () {
    if (!document.hidden) {
      refresh();
    }
  }, seconds * 1000);
})();
