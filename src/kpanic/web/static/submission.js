// The "analysing" page: poll the submission's status URL until the analysis is done, then go
// to the report; show the error when it was rejected. No other script, no third party.
(function () {
  "use strict";
  var box = document.getElementById("submission-status");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var finished = { done: 1, rejected: 1, failed: 1 };
  if (!url || finished[box.getAttribute("data-status")]) { return; }
  var delay = 250;
  function show(message) {
    box.textContent = "";
    var div = document.createElement("div");
    div.className = "alert error";
    div.id = "submission-error";
    div.textContent = message;
    box.appendChild(div);
  }
  function poll() {
    fetch(url + "?wait=5", { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.status === "done" && s.report_url) {
          window.location.assign(s.report_url + "?submitted=" + (s.is_new ? "new" : "duplicate"));
        } else if (s.status === "rejected" || s.status === "failed") {
          show(s.error || "this submission could not be processed");
        } else {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () { delay = Math.min(delay * 2, 5000); window.setTimeout(poll, delay); });
  }
  poll();
})();
