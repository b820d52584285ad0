// datafair's pages: wallet connection (EIP-1193), sign-in with Ethereum (EIP-4361), chain
// switching, the dev wallet, session keys (EIP-712 Delegation) and the JSON API helper.
// Plain JavaScript, no build step; ethers v6 is vendored in /static/vendor.
"use strict";

(function () {
  const DF = (window.Datafair = window.Datafair || {});
  const config = JSON.parse(document.getElementById("df-config").textContent);
  DF.config = config;
  DF.address = config.address; // the signed-in wallet, or null
  const DEV_WALLET = "datafair.devWallet.v1";

  // ------------------------------------------------------------------ the JSON API

  class ApiError extends Error {
    constructor(problem, status) {
      super(problem.detail || problem.title || `HTTP ${status}`);
      this.field = problem.field || null;
      this.fix = problem.fix || null;
      this.status = status;
    }
  }
  DF.ApiError = ApiError;

  DF.api = async function (method, path, body) {
    const options = { method, credentials: "same-origin", headers: { accept: "application/json" } };
    if (body !== undefined) {
      options.headers["content-type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch("/api/v1" + path, options);
    if (response.status === 204) return null;
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(data || {}, response.status);
    return data;
  };

  // One message next to a field (or in the page's status line): the fix included.
  DF.showError = function (error, fallback) {
    const name = error && error.field ? String(error.field).split(/[.\[]/)[0] : null;
    let place = name ? document.querySelector(`[data-error-for="${name}"]`) : null;
    if (!place) place = document.querySelector(fallback || "#status");
    if (!place) return;
    place.textContent = error && error.message ? error.message : String(error);
    place.hidden = false;
    place.setAttribute("role", "alert");
  };
  DF.clearErrors = function () {
    for (const node of document.querySelectorAll("[data-error-for], #status")) {
      node.textContent = "";
      if (node.hasAttribute("data-error-for")) node.hidden = true;
    }
  };

  // ------------------------------------------------------------------ wallets

  function devWallet() {
    let key = localStorage.getItem(DEV_WALLET);
    if (!key) {
      key = ethers.Wallet.createRandom().privateKey;
      localStorage.setItem(DEV_WALLET, key);
    }
    return new ethers.Wallet(key);
  }

  function rpcProvider() {
    // cacheTimeout -1: a wallet sending two transactions in a row must not reuse a cached nonce
    return new ethers.JsonRpcProvider(new URL(config.rpc_url, location.href).href, config.chain_id, {
      staticNetwork: true,
      cacheTimeout: -1,
    });
  }

  function typedParts(json) {
    const data = typeof json === "string" ? JSON.parse(json) : json;
    const types = Object.assign({}, data.types);
    delete types.EIP712Domain; // ethers derives the domain type from the domain object
    return [data.domain, types, data.message];
  }

  // An EIP-1193 provider over a key kept in this browser's storage: for demos only.
  function devProvider() {
    const wallet = devWallet();
    return {
      isDatafairDevWallet: true,
      async request({ method, params }) {
        switch (method) {
          case "eth_requestAccounts":
          case "eth_accounts":
            return [wallet.address];
          case "eth_chainId":
            return "0x" + Number(config.chain_id).toString(16);
          case "personal_sign":
            return wallet.signMessage(
              ethers.isHexString(params[0]) ? ethers.getBytes(params[0]) : params[0]
            );
          case "eth_signTypedData_v4":
            return wallet.signTypedData(...typedParts(params[1]));
          case "wallet_switchEthereumChain":
          case "wallet_addEthereumChain":
            return null;
          case "eth_sendTransaction": {
            const tx = Object.assign({}, params[0]);
            delete tx.from;
            const sent = await wallet.connect(rpcProvider()).sendTransaction(tx);
            return sent.hash;
          }
          default:
            return rpcProvider().send(method, params || []);
        }
      },
    };
  }

  DF.usingDevWallet = () => localStorage.getItem("datafair.useDevWallet") === "1" || !window.ethereum;
  DF.provider = () => (DF.usingDevWallet() ? devProvider() : window.ethereum);

  DF.ensureChain = async function () {
    const provider = DF.provider();
    const wanted = "0x" + Number(config.chain_id).toString(16);
    const current = await provider.request({ method: "eth_chainId" });
    if (String(current).toLowerCase() === wanted) return;
    try {
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: wanted }] });
    } catch (error) {
      if (error && (error.code === 4902 || error.code === -32603)) {
        await provider.request({
          method: "wallet_addEthereumChain",
          params: [
            {
              chainId: wanted,
              chainName: config.chain_name,
              nativeCurrency: { name: "Ether", symbol: config.native_symbol || "ETH", decimals: 18 },
              rpcUrls: [new URL(config.rpc_url, location.href).href],
              blockExplorerUrls: config.explorer ? [config.explorer] : undefined,
            },
          ],
        });
      } else {
        throw error;
      }
    }
  };

  function siweMessage(grant, address) {
    const issued = new Date();
    const expires = new Date(issued.getTime() + 10 * 60 * 1000);
    return [
      `${grant.domain} wants you to sign in with your Ethereum account:`,
      ethers.getAddress(address),
      "",
      grant.statement,
      "",
      `URI: ${grant.uri}`,
      "Version: 1",
      `Chain ID: ${grant.chain_id}`,
      `Nonce: ${grant.nonce}`,
      `Issued At: ${issued.toISOString()}`,
      `Expiration Time: ${expires.toISOString()}`,
    ].join("\n");
  }

  DF.signIn = async function (useDevWallet) {
    localStorage.setItem("datafair.useDevWallet", useDevWallet ? "1" : "0");
    const provider = DF.provider();
    const [address] = await provider.request({ method: "eth_requestAccounts" });
    await DF.ensureChain();
    const grant = await DF.api("GET", "/auth/nonce");
    const message = siweMessage(grant, address);
    const signature = await provider.request({
      method: "personal_sign",
      params: [ethers.hexlify(ethers.toUtf8Bytes(message)), address],
    });
    await DF.api("POST", "/auth/sign-in", { message, signature });
    location.reload();
  };

  DF.signOut = async function () {
    await DF.api("POST", "/auth/sign-out");
    location.reload();
  };

  // ------------------------------------------------------------------ session keys

  function sessionStore() {
    return "datafair.sessionKey." + String(DF.address).toLowerCase();
  }

  // The session key for ``taskId``: a stored one that still covers it, or a new one the wallet
  // delegates with one EIP-712 signature (the only wallet prompt of a labelling session).
  DF.sessionKey = async function (taskId, { maxAnswers = 1000, expiresIn = 8 * 3600 } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const stored = JSON.parse(localStorage.getItem(sessionStore()) || "null");
    if (
      stored &&
      stored.taskIds.includes(taskId) &&
      stored.expiresAt > now + 60 &&
      stored.used < stored.maxAnswers
    ) {
      return { wallet: new ethers.Wallet(stored.privateKey), record: stored };
    }
    const key = ethers.Wallet.createRandom();
    const typed = await DF.api("POST", "/delegations/typed-data", {
      session_key: key.address,
      task_ids: [taskId],
      expires_in_s: expiresIn,
      max_answers: maxAnswers,
    });
    const signature = await DF.provider().request({
      method: "eth_signTypedData_v4",
      params: [DF.address, JSON.stringify(typed)],
    });
    const registered = await DF.api("POST", "/delegations", { message: typed.message, signature });
    const record = {
      id: registered.id,
      privateKey: key.privateKey,
      taskIds: registered.task_ids,
      expiresAt: registered.expires_at,
      maxAnswers: registered.max_answers,
      used: 0,
    };
    localStorage.setItem(sessionStore(), JSON.stringify(record));
    return { wallet: new ethers.Wallet(key.privateKey), record };
  };

  DF.noteSessionKeyUse = function (record) {
    record.used += 1;
    localStorage.setItem(sessionStore(), JSON.stringify(record));
  };

  DF.forgetSessionKey = function () {
    localStorage.removeItem(sessionStore());
  };

  DF.signTyped = (wallet, typed) => wallet.signTypedData(...typedParts(typed));
  DF.walletSignTyped = (typed) =>
    DF.provider().request({ method: "eth_signTypedData_v4", params: [DF.address, JSON.stringify(typed)] });

  // Send a transaction from the wallet and report its state ("sent", "confirmed", "failed").
  DF.sendTransaction = async function (call, onState) {
    const provider = DF.provider();
    const hash = await provider.request({
      method: "eth_sendTransaction",
      params: [{ from: DF.address, to: call.to, data: call.data, value: call.value || "0x0" }],
    });
    onState("sent", hash);
    for (let attempt = 0; attempt < 600; attempt++) {
      const receipt = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt) {
        const ok = Number(receipt.status) === 1;
        onState(ok ? "confirmed" : "failed", hash);
        if (!ok) throw new Error(`transaction ${hash} reverted`);
        return receipt;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`transaction ${hash} was not mined in 5 minutes`);
  };

  // A line in a page's list of transactions, updated as the wallet sends and the chain mines
  // it: "approve(address,uint256): confirmed 0x1234…" with an explorer link when there is one.
  DF.transactionRow = function (list, call) {
    const item = document.createElement("li");
    item.textContent = `${call.function}: waiting for your wallet`;
    list.append(item);
    return (state, hash) => {
      item.textContent = `${call.function}: ${state} `;
      item.dataset.state = state;
      if (hash) {
        const link = document.createElement(config.explorer ? "a" : "code");
        link.textContent = hash.slice(0, 18) + "…";
        if (config.explorer) link.href = `${config.explorer.replace(/\/$/, "")}/tx/${hash}`;
        item.append(link);
      }
    };
  };

  // The gas a call needs, as the wallet's node estimates it (eth_estimateGas), or null when the
  // node cannot say yet (e.g. a buy before its approval is mined).
  DF.estimateGas = async function (call) {
    try {
      const gas = await DF.provider().request({
        method: "eth_estimateGas",
        params: [{ from: DF.address, to: call.to, data: call.data, value: call.value || "0x0" }],
      });
      return BigInt(gas);
    } catch (error) {
      return null;
    }
  };

  // ------------------------------------------------------------------ page wiring

  document.addEventListener("click", async (event) => {
    const target = event.target.closest("[data-action]");
    if (!target) return;
    const action = target.getAttribute("data-action");
    try {
      if (action === "connect") await DF.signIn(false);
      else if (action === "dev-wallet") await DF.signIn(true);
      else if (action === "sign-out") await DF.signOut();
      else return;
    } catch (error) {
      DF.showError(error, "#wallet-status");
    }
  });

  const badge = document.getElementById("dev-wallet-badge");
  if (badge && DF.address && localStorage.getItem("datafair.useDevWallet") === "1") badge.hidden = false;
})();
