// The progress of a background job: poll /jobs/ID until it is finished, and show its state and summary.
(function () {
  "use strict";
  var panel = document.getElementById("job");
  if (!panel) { return; }
  var id = panel.getAttribute("data-job");
  var status = document.getElementById("job-status");
  var summary = document.getElementById("job-summary");
  var reload = document.getElementById("job-reload");
  function poll() {
    fetch("/jobs/" + encodeURIComponent(id), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        panel.setAttribute("data-status", job.status);
        status.textContent = job.status_label;
        status.className = job.status;
        summary.textContent = job.error || job.summary || "";
        if (job.finished) { reload.hidden = false; } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (panel.getAttribute("data-status") !== "done" && panel.getAttribute("data-status") !== "failed") { poll(); }
})();
