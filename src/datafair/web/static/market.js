// The market pages' wallet actions. Buying: the server checks the listing, the price and the
// wallet's balance and says what to send: with a token that has EIP-2612, a permit the wallet
// signs and then the one buy_with_permit; otherwise approve (when the allowance is short), then
// buy. The wallet sends each transaction and the page shows its state. Royalties: the server builds the
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

  // The gas the recent buys of this release used, from their receipts as the wallet's node
  // keeps them (a node's estimate is only an upper bound; datafair's embedded node answers a
  // fixed ceiling and keeps receipts only of what was sent through its /rpc, so there this
  // part stays empty).
  async function recentBuyGas() {
    const used = [];
    for (const hash of release.recent_buys || []) {
      const receipt = await DF.provider().request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt && receipt.gasUsed) used.push(BigInt(receipt.gasUsed));
    }
    return used;
  }

  async function showGasEstimate() {
    try {
      const found = await plan();
      const parts = [];
      if (found.permit) parts.push("permit: a signature, no gas");
      for (const call of found.calls) {
        const name = call.function.split("(")[0];
        if (found.permit && name === "approve") continue; // the permit replaces it
        const estimate = await DF.estimateGas(call);
        const said = estimate === null ? "estimated once the permit is signed or the approval mined" : `at most ${estimate.toLocaleString("en")} gas (node estimate)`;
        parts.push(`${name}: ${said}`);
      }
      const used = await recentBuyGas();
      if (used.length) {
        const low = used.reduce((a, b) => (a < b ? a : b));
        const high = used.reduce((a, b) => (a > b ? a : b));
        const range = low === high ? low.toLocaleString("en") : `${low.toLocaleString("en")}–${high.toLocaleString("en")}`;
        parts.push(`${used.length} recent buy(s) of this release used ${range} gas`);
      }
      gas.textContent = `Gas estimate: ${parts.join("; ")}.`;
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
        let found = await plan();
        if (found.permit) {
          // one checkout transaction: the wallet signs an EIP-2612 permit (no gas), then sends
          // buy_with_permit, instead of an approve and a buy
          const signature = await DF.walletSignTyped(found.permit);
          const deadline = Number(found.permit.message.deadline);
          found = await DF.api("POST", `/market/releases/${release.release_id}/purchase`, {
            permit: { deadline, signature },
          });
        }
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
