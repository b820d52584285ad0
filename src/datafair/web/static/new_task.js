// Task creation: the schema builder's values, gold from a CSV, posted to the JSON API.
"use strict";

(function () {
  const DF = window.Datafair;
  const form = document.getElementById("task-form");
  if (!form) return;

  function parseGold(text) {
    const gold = {};
    text.split(/\r?\n/).forEach((line, index) => {
      if (!line.trim() || (index === 0 && /^item/i.test(line))) return;
      const comma = line.indexOf(",");
      if (comma < 0) throw Object.assign(new Error(`gold: line ${index + 1} has no comma (write item_cid,answer)`), { field: "gold" });
      const cid = line.slice(0, comma).trim();
      let answer = line.slice(comma + 1).trim();
      if (/^[\[{"]/.test(answer)) {
        try {
          answer = JSON.parse(answer);
        } catch (_) {
          throw Object.assign(new Error(`gold: line ${index + 1}: the answer is not valid JSON`), { field: "gold" });
        }
      }
      gold[cid] = answer;
    });
    return gold;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    DF.clearErrors();
    try {
      const value = (id) => document.getElementById(id).value;
      const goldFile = document.getElementById("gold").files[0];
      const gold = goldFile ? parseGold(await goldFile.text()) : {};
      const days = Number(value("deadline_days"));
      const body = {
        dataset_cid: value("dataset_cid"),
        title: value("title"),
        instructions: value("instructions"),
        task_type: value("task_type"),
        classes: value("classes").split(",").map((c) => c.trim()).filter(Boolean),
        overlap: Number(value("overlap")),
        gold,
        gold_ratio: Number(value("gold_ratio")),
        price_per_answer: value("price_per_answer").trim(),
        deadline: Math.floor(Date.now() / 1000) + Math.round(days * 86400),
        extra: document.getElementById("assigned_only").checked ? { assigned_only: true } : {},
      };
      if (["preference", "transcription"].includes(body.task_type)) body.classes = [];
      const task = await DF.api("POST", "/tasks", body);
      location.href = `/tasks/${task.task_id}/fund`;
    } catch (error) {
      DF.showError(error);
    }
  });
})();
