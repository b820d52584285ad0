// The review queue: a submission to judge, signed by the wallet (EIP-712 Review).
"use strict";

(function () {
  const DF = window.Datafair;
  const root = document.getElementById("reviewer");
  if (!root) return;
  const task = JSON.parse(document.getElementById("df-task").textContent);
  const stage = document.getElementById("stage");
  const status = document.getElementById("status");
  let target = null;
  let busy = false;

  function show(found) {
    stage.textContent = "";
    const item = document.createElement("blockquote");
    item.className = "item-text";
    item.textContent = found.text || `item ${found.item_cid}`;
    const answer = document.createElement("p");
    answer.className = "answer";
    answer.textContent = "Answer: " + JSON.stringify(found.answer);
    stage.append(item, answer);
  }

  async function next() {
    target = await DF.api("POST", `/tasks/${task.task_id}/reviews/next`);
    if (target === null) {
      stage.textContent = "";
      status.textContent = "Nothing to review for you now.";
      root.dataset.state = "empty";
      return;
    }
    root.dataset.state = "ready";
    status.textContent = "";
    show(target);
  }

  async function review(verdict, rating) {
    if (!target || busy) return;
    busy = true;
    try {
      const typed = JSON.parse(JSON.stringify(target.typed_data));
      typed.message.verdict = verdict === "accept" ? 1 : verdict === "reject" ? 2 : 0;
      typed.message.rating = rating || 0;
      const signature = await DF.walletSignTyped(typed);
      await DF.api("POST", `/tasks/${task.task_id}/reviews`, {
        submission_id: target.submission_id,
        reviewer: DF.address,
        verdict: verdict || null,
        rating: rating || null,
        signature,
      });
      await next();
    } catch (error) {
      DF.showError(error);
    } finally {
      busy = false;
    }
  }

  root.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.verdict) review(button.dataset.verdict, null);
    if (button.dataset.rating) review(null, Number(button.dataset.rating));
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, textarea, select")) return;
    const key = event.key.toLowerCase();
    if (key === "y") review("accept", null);
    else if (key === "n") review("reject", null);
    else if (/^[1-5]$/.test(key)) review(null, Number(key));
  });

  if (!DF.address) status.textContent = "Sign in with your wallet to review.";
  else next().catch((error) => DF.showError(error));
})();
