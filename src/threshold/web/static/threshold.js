// Threshold: small enhancements. Every page works without this file.
"use strict";

(function () {
  document.documentElement.classList.add("js");

  // Phones: the navigation collapses behind the Menu button (CSS shows the button only on narrow screens).
  const toggle = document.querySelector(".nav-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      toggle.closest(".topbar").classList.toggle("nav-open", open);
    });
  }
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function humanBytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
  }

  // Share: upload with XMLHttpRequest so the progress bar can follow the bytes sent, then open the preview.
  function shareForm(form) {
    const bar = document.getElementById("share-progress-bar");
    const text = document.getElementById("share-progress-text");
    const box = document.getElementById("share-progress");
    const errorBox = document.getElementById("share-error");
    const submit = document.getElementById("share-submit");

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      errorBox.focus();
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      data.delete("csrf");
      if (!data.get("name")) data.delete("name");
      errorBox.hidden = true;
      box.hidden = false;
      bar.value = 0;
      submit.disabled = true;
      text.textContent = "Starting upload…";

      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.api);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.round((e.loaded / e.total) * 100);
        bar.value = pct;
        text.textContent = `Uploading ${pct}% (${humanBytes(e.loaded)} of ${humanBytes(e.total)})`;
      });
      xhr.upload.addEventListener("load", () => {
        bar.removeAttribute("value"); // indeterminate while the server reads the file
        text.textContent = "Uploaded. Finding the table, its types and personal data…";
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body && body.preview_id) {
          bar.value = 100;
          text.textContent = "Read. Opening the preview…";
          window.location.assign("/share/preview/" + encodeURIComponent(body.preview_id));
        } else {
          submit.disabled = false;
          box.hidden = true;
          showError((body && body.detail) || `The upload failed (HTTP ${xhr.status}).`);
        }
      });
      xhr.addEventListener("error", () => {
        submit.disabled = false;
        box.hidden = true;
        showError("The upload was interrupted: check the connection and try again.");
      });
      xhr.send(data);
    });
  }

  // Query: Ctrl/Cmd+Enter runs the query.
  function queryForm(form) {
    const sql = form.querySelector("textarea[name=sql]");
    sql.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const share = document.getElementById("share-form");
    if (share) shareForm(share);
    const query = document.getElementById("query-form");
    if (query) queryForm(query);
  });
})();
