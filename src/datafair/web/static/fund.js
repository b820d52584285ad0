// Funding from the requester's wallet: the server says what to call, the wallet sends each
// transaction, and the page shows each one's state with an explorer link.
"use strict";

(function () {
  const DF = window.Datafair;
  const form = document.getElementById("fund-form");
  if (!form) return;
  const task = JSON.parse(document.getElementById("df-task").textContent);
  const list = document.getElementById("transactions");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    DF.clearErrors();
    list.textContent = "";
    try {
      await DF.ensureChain();
      const plan = await DF.api("POST", `/tasks/${task.task_id}/funding`, {
        amount: document.getElementById("amount").value.trim(),
        token: document.getElementById("token").value.trim() || null,
      });
      for (const call of plan.calls) await DF.sendTransaction(call, DF.transactionRow(list, call));
      document.getElementById("status").textContent = "Funded: contributors can start.";
    } catch (error) {
      DF.showError(error);
    }
  });
})();
