// Dataset upload: drag and drop, a progress bar (XHR upload events), errors next to the field.
"use strict";

(function () {
  const DF = window.Datafair;
  const form = document.getElementById("upload-form");
  if (!form) return;
  const drop = document.getElementById("drop");
  const input = document.getElementById("file");
  const bar = document.getElementById("progress");
  const status = document.getElementById("status");

  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) input.files = event.dataTransfer.files;
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    DF.clearErrors();
    const file = input.files[0];
    if (!file) {
      DF.showError({ field: "file", message: "file: choose a file to upload" });
      return;
    }
    const data = new FormData(form);
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/datasets");
    request.setRequestHeader("accept", "application/json");
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) bar.value = Math.round((100 * progress.loaded) / progress.total);
    });
    request.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(request.responseText || "{}");
      } catch (_) {}
      if (request.status >= 200 && request.status < 300) {
        bar.value = 100;
        status.textContent = `Stored ${body.items ?? ""} items as dataset ${body.manifest_cid}.`;
        const link = document.createElement("a");
        link.href = `/tasks/new?dataset=${encodeURIComponent(body.manifest_cid)}`;
        link.textContent = " Create a task on it";
        status.append(link);
      } else {
        DF.showError(new DF.ApiError(body, request.status));
      }
    });
    request.addEventListener("error", () => DF.showError(new Error("upload failed: the server did not answer")));
    status.textContent = "Uploading…";
    request.send(data);
  });
})();
