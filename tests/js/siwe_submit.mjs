// An outside client of the datafair API, using ethers v6 and fetch only:
// signs in with Sign-In with Ethereum (EIP-4361, personal_sign), takes the next item of a task,
// signs the EIP-712 typed data the server handed out (eth_signTypedData_v4 semantics) and
// submits it twice (the second is a retry: the server must answer with the first result).
// Usage: node siwe_submit.mjs BASE_URL TASK_ID PRIVATE_KEY  -> prints one JSON object.
import { Wallet } from "ethers";

const [base, taskId, key] = process.argv.slice(2);
const wallet = new Wallet(key);
const api = `${base}/api/v1`;

async function call(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${api}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const nonce = (await call("GET", "/auth/nonce")).body;
const issued = new Date();
const expires = new Date(issued.getTime() + 10 * 60 * 1000);
const message = [
  `${nonce.domain} wants you to sign in with your Ethereum account:`,
  wallet.address,
  "",
  nonce.statement,
  "",
  `URI: ${nonce.uri}`,
  "Version: 1",
  `Chain ID: ${nonce.chain_id}`,
  `Nonce: ${nonce.nonce}`,
  `Issued At: ${issued.toISOString()}`,
  `Expiration Time: ${expires.toISOString()}`,
].join("\n");
const signIn = await call("POST", "/auth/sign-in", {
  message,
  signature: await wallet.signMessage(message),
});
if (signIn.status !== 200) throw new Error(`sign-in: ${JSON.stringify(signIn.body)}`);
const token = signIn.body.token;
const item = (await call("POST", `/tasks/${taskId}/next`, undefined, token)).body;
const choice = item.choices[1];
const typed = choice.typed_data;
typed.message.durationMs = 4200;
const types = { ...typed.types };
delete types.EIP712Domain;
const signature = await wallet.signTypedData(typed.domain, types, typed.message);
const entry = {
  item_cid: item.item_cid,
  answer: choice.answer,
  contributor: wallet.address,
  nonce: item.nonce,
  duration_ms: 4200,
  signature,
};
const first = await call("POST", `/tasks/${taskId}/submissions`, entry, token);
const retry = await call("POST", `/tasks/${taskId}/submissions`, entry, token);
const mine = await call("GET", "/me/answers", undefined, token);
process.stdout.write(
  JSON.stringify({ address: wallet.address, item: item.item_cid, first, retry, mine: mine.body }),
);
