// The market pages' wallet actions. Buying: the server checks the listing, the price and the
// wallet's balance and says what to send (approve when the allowance is short, then buy); the
// wallet sends each transaction and the page shows its state. Royalties: the server builds the
// one claim_many with the Merkle proofs of the wallet's weights; the wallet sends it.
"use strict";

(function () {
  const DF = window.Datafair;
  const list = document.getElementById("transactions");
  const status = document.getElementById("status");

  function units(base) {
    return ethers.formatUnits(BigInt(base), 18).replace(/\.0$/, "");
  }

  // ---------------------------------------------------------------- buying a licence

  const buy = document.getElementById("buy");
  const gas = document.getElementById("gas");
  const release = document.getElementById("df-release")
    ? JSON.parse(document.getElementById("df-release").textContent)
    : null;

  async function plan() {
    return DF.api("POST", `/market/releases/${release.release_id}/purchase`, {});
  }

  async function showGasEstimate() {
    try {
      const found = await plan();
      const parts = [];
      for (const call of found.calls) {
        const name = call.function.split("(")[0];
        const estimate = await DF.estimateGas(call);
        parts.push(estimate === null ? `${name}: after the approval` : `${name}: ${estimate.toLocaleString("en")} gas`);
      }
      gas.textContent = `Gas estimate (your wallet's node): ${parts.join("; ")}.`;
    } catch (error) {
      gas.textContent = `Gas estimate unavailable: ${error.message}`;
    }
  }

  if (buy && release) {
    showGasEstimate();
    buy.addEventListener("click", async () => {
      DF.clearErrors();
      list.textContent = "";
      buy.disabled = true;
      try {
        await DF.ensureChain();
        const found = await plan();
        for (const call of found.calls) await DF.sendTransaction(call, DF.transactionRow(list, call));
        status.textContent = `Bought: a licence NFT for ${units(found.price)} is in your wallet. Download the data from My licences.`;
        const link = document.createElement("a");
        link.href = "/market/licences";
        link.textContent = " Go to My licences.";
        status.append(link);
      } catch (error) {
        DF.showError(error);
      } finally {
        buy.disabled = false;
      }
    });
  }

  // ---------------------------------------------------------------- claiming royalties

  const claim = document.getElementById("claim-royalties");
  if (claim) {
    claim.addEventListener("click", async () => {
      DF.clearErrors();
      list.textContent = "";
      claim.disabled = true;
      try {
        await DF.ensureChain();
        const found = await DF.api("POST", "/market/royalties/claim-call", {});
        if (!found.call) {
          status.textContent = "Nothing to claim now: royalties arrive with the next sale.";
          return;
        }
        await DF.sendTransaction(found.call, DF.transactionRow(list, found.call));
        status.textContent = `Claimed ${units(found.amount)} from ${found.releases} release(s).`;
        for (const cell of document.querySelectorAll(".royalties .claimable")) cell.textContent = "0";
      } catch (error) {
        DF.showError(error);
        claim.disabled = false;
      }
    });
  }
})();
