// What the scripts say, in the page's language: the page writes it on <body data-say-…> from the message
// catalogue (flows/web/templates/_base.html); {name} places are filled in here.
function say(key, values) {
  "use strict";
  var text = document.body.dataset["say" + key.charAt(0).toUpperCase() + key.slice(1)] || key;
  Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(String(values[name])); });
  return text;
}

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

// The grids (self-assessment, appraisal): a row saves itself when one of its fields changes (the row's own
// "Lưu" button does the same without JavaScript), and says so in its status cell.
(function () {
  "use strict";
  var form = document.getElementById("grid-form") || document.getElementById("appraisal-form");
  if (!form) { return; }
  var token = form.querySelector("input[name=csrf_token]").value;
  function save(row) {
    var code = row.getAttribute("data-code");
    var data = new FormData();
    data.append("csrf_token", token);
    data.append("save", code);
    row.querySelectorAll("input[name], textarea[name]").forEach(function (field) {
      if (field.form !== form || field.disabled) { return; }
      if (field.type === "checkbox") { if (field.checked) { data.append(field.name, field.value); } return; }
      data.append(field.name, field.value);
    });
    var status = row.querySelector(".row-status");
    status.textContent = say("saving");
    row.classList.remove("refused");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        status.textContent = answer.ok ? say("saved") : answer.message;
        if (!answer.ok) { row.classList.add("refused"); }
        var filled = document.getElementById("filled");
        if (answer.ok && filled && answer.filled !== undefined) { filled.textContent = answer.filled; }
      })
      .catch(function () { status.textContent = say("unsaved"); row.classList.add("refused"); });
  }
  form.addEventListener("change", function (event) {
    var row = event.target.closest("tr.row");
    if (row && event.target.form === form) { save(row); }
  });
})();

// Evidence uploads: refuse a file over the limit before sending it, and show the upload's progress.
(function () {
  "use strict";
  document.querySelectorAll("form.upload-form").forEach(function (upload) {
    upload.addEventListener("submit", function (event) {
      var file = upload.elements.namedItem("file");
      var limit = parseInt(upload.getAttribute("data-max"), 10);
      if (!file || !file.files || !file.files.length || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      var button = document.querySelector("button[form='" + upload.id + "']");
      var cell = button ? button.parentNode : upload;
      var bar = cell.querySelector("progress");
      if (file.files[0].size > limit) {
        alert(say("tooLarge", { name: file.files[0].name, mib: Math.round(limit / 1048576) }));
        return;
      }
      var request = new XMLHttpRequest();
      request.open("POST", upload.action);
      request.upload.onprogress = function (e) { if (bar && e.lengthComputable) { bar.hidden = false; bar.value = Math.round(100 * e.loaded / e.total); } };
      request.setRequestHeader("X-Requested-With", "fetch");
      request.onload = function () {
        var answer = null;
        try { answer = JSON.parse(request.responseText); } catch (e) { answer = null; }
        if (answer && answer.location) { window.location.href = answer.location; window.location.reload(); return; }
        alert(request.status === 413 ? say("refusedLarge") : say("uploadFailed", { code: request.status }));
      };
      request.onerror = function () { alert(say("offline")); };
      request.send(new FormData(upload));
    });
  });
})();
